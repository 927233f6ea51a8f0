// Small progressive enhancements; every page works without them.
"use strict";
document.addEventListener("change", (event) => {
  const box = event.target;
  if (box.matches("input[data-check-all]")) {
    const form = box.closest("form");
    form.querySelectorAll(`input[name="${box.dataset.checkAll}"]`).forEach((c) => {
      c.checked = box.checked;
    });
  }
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
