// Draws every element with data-chart from the JSON in #dashboard-data (or #chart-data)
// with the vendored ECharts. The same numbers are in a table under each chart.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data") || document.getElementById("chart-data");
  if (!source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var palette = ["#a61b1b", "#0b57d0", "#1a7f37", "#9a6700", "#8250df", "#57606a"];
  var font = '"Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", sans-serif';
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var d = data[el.dataset.chart];
    if (!d) return;
    var type = el.dataset.type;
    var names = Object.keys(d.series);
    var option = { color: palette, textStyle: { fontFamily: font }, tooltip: { trigger: type === "pie" ? "item" : "axis" }, animation: false };
    var total = 0;
    names.forEach(function (n) { d.series[n].forEach(function (v) { total += v; }); });
    if (!d.labels.length || total === 0) {
      option.title = { text: "暂无数据", left: "center", top: "middle", textStyle: { color: "#57606a", fontSize: 14, fontFamily: font } };
    } else if (type === "pie") {
      option.legend = { bottom: 0, type: "scroll" };
      option.series = [{ type: "pie", radius: ["35%", "65%"], data: d.labels.map(function (l, i) { return { name: l, value: d.series[names[0]][i] }; }) }];
    } else {
      var horizontal = type === "hbar";
      // A partial current month is named so (d.partial), not drawn as if it had ended.
      var labels = d.labels.map(function (l) { return d.partial && l === d.partial ? l + "（本月至今）" : l; });
      var narrow = el.clientWidth < 480;
      var category = { type: "category", data: labels, axisLabel: horizontal ? { width: narrow ? 80 : 120, overflow: "truncate" } : { rotate: narrow || d.labels.length > 8 ? 40 : 0, interval: narrow ? "auto" : 0, hideOverlap: true } };
      var value = { type: "value", minInterval: 1 };
      option.legend = names.length > 1 ? { top: 0 } : undefined;
      option.grid = { left: horizontal ? (narrow ? 90 : 130) : 10, right: 20, top: names.length > 1 ? 30 : 15, bottom: 10, containLabel: !horizontal };
      option.xAxis = horizontal ? value : category;
      option.yAxis = horizontal ? Object.assign({}, category, { inverse: true }) : value;
      option.series = names.map(function (n) {
        var values = d.series[n];
        if (d.partial && type === "line") {
          // the partial month: a hollow, faded last point
          values = values.map(function (v, i) { return i === values.length - 1 ? { value: v, symbol: "emptyCircle", symbolSize: 10, itemStyle: { opacity: 0.6 } } : v; });
        }
        return { name: n, type: type === "line" ? "line" : "bar", stack: type === "stack" ? "total" : undefined, data: values, smooth: false };
      });
    }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    el.dataset.ready = "true";
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
