// Draw every chart on the page with vega-embed, under the strict CSP: no eval (ast + the bundled
// vega-interpreter), no action menu (so no "Open in Vega Editor"), no injected <style>.
(function () {
  "use strict";
  function draw(root) {
    root.querySelectorAll("[data-vl-spec]").forEach(function (el) {
      if (el.dataset.drawn === "1") { return; }
      var source = document.getElementById(el.dataset.vlSpec);
      if (!source || !window.vegaEmbed) { return; }
      el.dataset.drawn = "1";
      var spec = JSON.parse(source.textContent);
      window.vegaEmbed(el, spec, {
        actions: false,
        ast: true,
        renderer: "svg",
        defaultStyle: false,
        tooltip: { disableDefaultStyle: true },
        i18n: { PNG_ACTION: "PNG", SVG_ACTION: "SVG" }
      }).then(function (result) {
        // Cross-filter (dashboards) or drill-down (a chart's page): a click on a mark follows a plain link.
        var field = el.dataset.clickField;
        if (!field) { return; }
        el.classList.add("chart--clickable");
        result.view.addEventListener("click", function (event, item) {
          if (!item || !item.datum || item.datum[field] === undefined || item.datum[field] === null) { return; }
          var value = String(item.datum[field]);
          if (el.dataset.clickParam) {
            var url = new URL(window.location.href);
            url.searchParams.set(el.dataset.clickParam, value);
            window.location.assign(url.toString());
          } else if (el.dataset.drillBase) {
            window.location.assign(el.dataset.drillBase + encodeURIComponent(value));
          }
        });
      }).catch(function (err) {
        el.textContent = "グラフを表示できませんでした（" + err.message + "）。下の表でデータを確認できます。";
      });
    });
  }
  // After a dashboard item was moved, put the focus back on the button pressed (#moved-3-up → the button
  // item-3-up), so a keyboard user can press it again; when that button is now disabled (the item reached
  // the end), the first enabled button of the same item. The fragment names no element, so the browser's
  // own fragment handling leaves the focus alone.
  function refocus() {
    var match = /^#moved-(\d+-(up|down|wider|narrower))$/.exec(window.location.hash);
    if (!match) { return; }
    var button = document.getElementById("item-" + match[1]);
    if (!button) { return; }
    if (button.disabled) {
      var other = button.parentNode.querySelector("button:not([disabled])");
      if (other) { other.focus(); }
    } else {
      button.focus();
    }
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); refocus(); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
})();
