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
      }).catch(function (err) {
        el.textContent = "グラフを表示できませんでした（" + err.message + "）。下の表でデータを確認できます。";
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
})();
