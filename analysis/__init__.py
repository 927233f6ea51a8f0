"""Analysis: normalization, segmentation, monitoring plans, classifiers and event grouping."""
