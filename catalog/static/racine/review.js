// The review queue's "tick all" boxes: for the page, or for one table's group. Without scripts each row is ticked
// by hand; the decisions themselves are plain form posts.
document.addEventListener("change", (event) => {
  const toggle = event.target.closest(".review-toggle");
  if (!toggle) return;
  const group = toggle.dataset.toggle;
  const selector = group === "all" ? ".review-tick, .review-toggle" : `.review-tick[data-group="${group}"]`;
  document.querySelectorAll(selector).forEach((box) => { box.checked = toggle.checked; });
});
