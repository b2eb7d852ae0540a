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

// The triage board's countdowns: <time class="countdown" datetime="..."> ticks every
// second in the words monitor/history/board.py's countdown_text uses, in the page's
// language (the board's data-countdown-* attributes hold the phrases), and its cell
// turns "overdue" (red, and the words say so) when the deadline passes.
(function () {
  var ENGLISH = {days: "{d} d {h} h", hours: "{h} h {m} min", minutes: "{m} min {s} s",
                 overdue: "overdue by {span}"};
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function phrases() {
    var board = document.querySelector("[data-countdown-overdue]");
    var found = {};
    Object.keys(ENGLISH).forEach(function (key) {
      found[key] = (board && board.getAttribute("data-countdown-" + key)) || ENGLISH[key];
    });
    return found;
  }
  function fill(phrase, values) {
    return phrase.replace(/\{(\w+)\}/g, function (all, name) {
      return name in values ? String(values[name]) : all;
    });
  }
  var said;
  function words(secondsLeft) {
    said = said || phrases();
    var total = Math.floor(Math.abs(secondsLeft));
    var hours = Math.floor(total / 3600), minutes = Math.floor((total % 3600) / 60);
    var span;
    if (hours >= 24) { span = fill(said.days, {d: Math.floor(hours / 24), h: hours % 24}); }
    else if (hours) { span = fill(said.hours, {h: hours, m: pad(minutes)}); }
    else { span = fill(said.minutes, {m: minutes, s: pad(total % 60)}); }
    return secondsLeft < 0 ? fill(said.overdue, {span: span}) : span;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("datetime"));
      if (isNaN(due)) { return; }
      var left = (due - now) / 1000;
      el.textContent = words(left);
      var cell = el.closest(".deadline");
      if (cell) { cell.classList.toggle("overdue", left < 0); }
      var row = el.closest("tr");
      if (row) { row.classList.toggle("row-overdue", left < 0); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("time.countdown, [data-board-poll]")) {
      tick(); window.setInterval(tick, 1000);
    }
  });
  // new rows from the board's poll tick at once, not a second later
  document.addEventListener("crisiswatch:board", tick);
})();

// The triage board (<div data-board-poll="/board/rows.html">): every few seconds fetch
// the board's table as the server renders it now (escaped by its template) and swap
// it in, so an incident opened, resolved or raised shows without a reload; the
// countdowns keep ticking and a focused link keeps its focus. Stops once the session
// is gone (the answer is the login page), backs off while the server fails.
(function () {
  function poll(holder) {
    var url = holder.getAttribute("data-board-poll");
    var every = parseFloat(holder.getAttribute("data-poll-seconds")) || 15;
    var failures = 0;
    function swap(html) {
      var fresh = document.createElement("template");
      fresh.innerHTML = html;
      if (!fresh.content.querySelector("#board, #board-empty")) { throw new Error("logged out"); }
      var focused = document.activeElement;
      var href = focused && holder.contains(focused) && focused.getAttribute("href");
      holder.replaceChildren(fresh.content);
      if (href) {
        var again = holder.querySelector('a[href="' + href.replace(/"/g, "") + '"]');
        if (again) { again.focus(); }
      }
      document.dispatchEvent(new CustomEvent("crisiswatch:board"));
    }
    function check() {
      fetch(url, {credentials: "same-origin", headers: {Accept: "text/html"}})
        .then(function (response) {
          if (response.redirected) { throw new Error("logged out"); }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(swap)
        .then(function () { failures = 0; window.setTimeout(check, every * 1000); })
        .catch(function (err) {
          if (err && err.message === "logged out") { return; }
          failures = Math.min(failures + 1, 5);
          window.setTimeout(check, every * 1000 * Math.pow(2, failures));
        });
    }
    window.setTimeout(check, every * 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-board-poll]").forEach(poll);
  });
})();

// Post lists (<section data-poll="/incidents/N/posts">): every few seconds ask for the
// incident's post ids, fetch the ones not on the page as an HTML fragment (escaped by
// the server's template) and put them on top. Stops once the session is gone (the
// answer is the login page), backs off while the server fails.
(function () {
  function poll(section) {
    var base = section.getAttribute("data-poll");
    var alertId = section.getAttribute("data-alert");
    var list = section.querySelector(".post-list");
    var count = section.querySelector(".post-count");
    var every = parseFloat(section.getAttribute("data-poll-seconds")) || 15;
    var timer, failures = 0;
    function known() {
      var ids = {};
      list.querySelectorAll("[data-post-id]").forEach(function (el) {
        ids[el.getAttribute("data-post-id")] = true;
      });
      return ids;
    }
    function json(response) {
      var type = response.headers.get("content-type") || "";
      if (response.ok && type.indexOf("application/json") !== 0) { throw new Error("logged out"); }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }
    function insert(html) {
      var holder = document.createElement("template");
      holder.innerHTML = html;
      var items = Array.prototype.slice.call(holder.content.querySelectorAll("li.post"));
      var have = known();
      items.reverse().forEach(function (item) {
        if (have[item.getAttribute("data-post-id")]) { return; }
        item.classList.add("post-arrived");
        list.insertBefore(item, list.firstChild);
      });
    }
    function check() {
      fetch(base + ".json", {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(json)
        .then(function (data) {
          if (count) { count.textContent = data.count; }
          var have = known();
          var missing = data.ids.filter(function (id) { return !have[String(id)]; });
          if (!missing.length) { return null; }
          var url = base + ".html?ids=" + missing.slice(0, 50).join(",") +
            (alertId ? "&alert=" + encodeURIComponent(alertId) : "");
          return fetch(url, {credentials: "same-origin"}).then(function (r) {
            if (!r.ok) { throw new Error("HTTP " + r.status); }
            return r.text();
          }).then(insert);
        })
        .then(function () { failures = 0; timer = window.setTimeout(check, every * 1000); })
        .catch(function (err) {
          // logged out (a login page instead of JSON): stop; a hiccup: try again, slower
          if (err && err.message === "logged out") { return; }
          failures = Math.min(failures + 1, 5);
          timer = window.setTimeout(check, every * 1000 * Math.pow(2, failures));
        });
    }
    timer = window.setTimeout(check, every * 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("section[data-poll]").forEach(poll);
  });
})();

// The source form: only the chosen kind's own fields show (without this file every
// kind's fieldset shows, each under its legend; the server reads the chosen kind's).
(function () {
  function sync() {
    var kind = document.getElementById("f-kind");
    if (!kind) { return; }
    document.querySelectorAll("fieldset.kind-fields").forEach(function (set) {
      set.hidden = set.getAttribute("data-kind") !== kind.value;
    });
  }
  document.addEventListener("DOMContentLoaded", sync);
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "f-kind") { sync(); }
  });
})();
