// The personal centre on a phone: sections that open and close. Without JavaScript (or on a
// wide screen) every section stays open; on a narrow screen only the one the address points
// to (or that holds a confirmation) stays open, and a link in the navigation opens its own.
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 640px)");
  function sections() { return document.querySelectorAll("details.me-section"); }
  function openTarget(id) {
    var target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") { target.open = true; return target; }
    return null;
  }
  function collapse() {
    if (!narrow.matches) return;
    var keep = (location.hash || "").slice(1);
    var flash = document.querySelector("details.me-section [data-flash]");
    sections().forEach(function (d) {
      var holdsFlash = flash && d.contains(flash);
      d.open = d.id === keep || holdsFlash;
    });
    if (!keep && !flash && sections().length) sections()[0].open = true;
    var shown = openTarget(keep);
    if (shown) shown.scrollIntoView();
  }
  document.addEventListener("DOMContentLoaded", collapse);
  window.addEventListener("hashchange", function () { openTarget(location.hash.slice(1)); });
})();
