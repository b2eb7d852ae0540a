// The console works without this file; it only adds conveniences.
// Buttons with data-confirm ask first (resolving an incident closes all its alerts).
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var question = button && button.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
// Selects with data-autosubmit submit their form when changed (filter bars).
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.submit();
  }
});
