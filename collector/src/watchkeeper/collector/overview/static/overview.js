// Draws the overview's charts with uPlot from the JSON block the page carries.
// Alarms become red bars on the chart of their detector's scores, linked to the alarm's
// page; deploys (a new model or prompt version) become grey dashed lines.
(function () {
  "use strict";
  const block = document.getElementById("overview-data");
  if (!block || typeof uPlot === "undefined") {
    return;
  }
  const data = JSON.parse(block.textContent);
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
                   "#8c564b", "#e377c2"];

  function drawDeploys(u) {
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = "#888";
    ctx.setLineDash([5, 4]);
    ctx.lineWidth = 1;
    for (const note of data.annotations) {
      const x = Math.round(u.valToPos(note.time_s, "x", true));
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) {
        continue;
      }
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
    }
    ctx.restore();
  }

  function placeMarkers(u, alarms) {
    for (const old of u.over.querySelectorAll("a.alarm-marker")) {
      old.remove();
    }
    for (const alarm of alarms) {
      const left = u.valToPos(alarm.time_s, "x");
      if (!(left >= 0 && left <= u.over.clientWidth)) {
        continue;
      }
      const marker = document.createElement("a");
      marker.className = "alarm-marker";
      marker.href = "/ui/alarms/" + alarm.id;
      marker.dataset.alarm = alarm.id;
      marker.title = alarm.detector + " on " + alarm.key + ": " + alarm.reason;
      marker.style.left = left + "px";
      u.over.appendChild(marker);
    }
  }

  function chart(element, series, alarms) {
    const keys = Object.keys(series);
    if (keys.length === 0) {
      const empty = document.createElement("p");
      empty.className = "muted";
      empty.textContent = "No data in this range.";
      element.appendChild(empty);
      element.dataset.ready = "1";
      return;
    }
    const opts = {
      width: Math.max(320, element.clientWidth - 12),
      height: 220,
      scales: { x: { time: true } },
      series: [{}].concat(keys.map((key, i) => ({
        label: key,
        stroke: palette[i % palette.length],
        width: 1.5,
        spanGaps: false,
        points: { show: data.times.length < 90 },
      }))),
      hooks: {
        draw: [drawDeploys],
        ready: [(u) => placeMarkers(u, alarms)],
        setSize: [(u) => placeMarkers(u, alarms)],
      },
    };
    const columns = [data.times].concat(keys.map((key) => series[key]));
    new uPlot(opts, columns, element);
    element.dataset.ready = "1";
  }

  for (const element of document.querySelectorAll(".chart[data-measure]")) {
    chart(element, data.traffic[element.dataset.measure] || {}, []);
  }
  for (const element of document.querySelectorAll(".chart[data-score]")) {
    const score = data.scores.find((s) => s.name === element.dataset.score);
    if (!score) {
      continue;
    }
    const alarms = data.alarms.filter((a) => a.detector === score.detector);
    chart(element, score.series, alarms);
  }
})();
