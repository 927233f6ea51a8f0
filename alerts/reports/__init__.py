"""Monthly sentiment report and data retention."""
