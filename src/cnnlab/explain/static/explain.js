// cnnlab explain: the page's behaviour. Plain JavaScript, no build step, no network beyond this server.
"use strict";

(() => {
  const MAX_UPLOAD = 5 * 1024 * 1024;  // the server refuses larger bodies (413)
  const DETAIL_CHANNELS = 4;            // input channels drawn as tables in the arithmetic panel
  const state = { model: null, result: null, source: null };
  const $ = (selector) => document.querySelector(selector);

  // ------------------------------------------------------------ helpers
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) node.append(child);
    return node;
  }

  async function api(path, options) {
    const response = await fetch(path, options);
    const body = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  }

  function setStatus(text, isError = false) {
    const status = $("#status");
    status.textContent = text;
    status.classList.toggle("error", isError);
  }

  const fmt = (v, digits = 3) => {  // fixed point, or exponent where fixed point would show 0.00 or be long
    if (v === 0) return "0";
    const a = Math.abs(v);
    return a >= 1e4 || a < 0.5 * 10 ** -digits ? v.toExponential(digits > 2 ? 2 : 1) : v.toFixed(digits);
  };

  // ------------------------------------------------------------- colours
  // RdBu, from blue (-1) through near-white (0) to red (+1).
  const STOPS = [[-1, [33, 102, 172]], [-0.5, [146, 197, 222]], [0, [247, 247, 247]],
                 [0.5, [244, 165, 130]], [1, [178, 24, 43]]];

  function diverging(t) {
    t = Math.max(-1, Math.min(1, t));
    for (let i = 1; i < STOPS.length; i++) {
      const [t1, c1] = STOPS[i];
      if (t <= t1) {
        const [t0, c0] = STOPS[i - 1];
        const f = (t - t0) / (t1 - t0);
        return [0, 1, 2].map((k) => Math.round(c0[k] + f * (c1[k] - c0[k])));
      }
    }
    return STOPS[STOPS.length - 1][1];
  }

  function paintMap(canvas, rows, scale) {
    const h = rows.length, w = rows[0].length;
    canvas.width = w; canvas.height = h;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(w, h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const [r, g, b] = diverging(rows[y][x] / scale);
        const i = 4 * (y * w + x);
        image.data[i] = r; image.data[i + 1] = g; image.data[i + 2] = b; image.data[i + 3] = 255;
      }
    }
    ctx.putImageData(image, 0, 0);
  }

  function paintInput(canvas, pixels) {  // pixels: [C][H][W] uint8, C = 1 or 3
    const h = pixels[0].length, w = pixels[0][0].length, rgb = pixels.length === 3;
    canvas.width = w; canvas.height = h;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(w, h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = 4 * (y * w + x);
        image.data[i] = pixels[0][y][x];
        image.data[i + 1] = pixels[rgb ? 1 : 0][y][x];
        image.data[i + 2] = pixels[rgb ? 2 : 0][y][x];
        image.data[i + 3] = 255;
      }
    }
    ctx.putImageData(image, 0, 0);
  }

  // --------------------------------------------------------- model, samples
  async function loadModel() {
    const model = await api("/api/model");
    state.model = model;
    const [c, h, w] = model.input_shape;
    const convs = model.layers.filter((layer) => layer.type === "Conv2d").length;
    $("#model-summary").textContent = `${model.name}: input ${c}×${h}×${w}, ${model.classes.length} classes, ` +
      `${model.layers.length} layers (${convs} convolutions)`;
    document.title = `${model.name} · cnnlab explain`;
    if (model.notice) {
      $("#notice").textContent = model.notice;
      $("#notice").hidden = false;
    }
    buildPresets(model);
  }

  async function loadSamples() {
    const { samples } = await api("/api/samples");
    const box = $("#samples");
    for (const sample of samples) {
      const button = el("button", { type: "button", title: sample.label, "data-sample": String(sample.id) },
                        el("img", { src: sample.image, alt: sample.label }));
      button.addEventListener("click", () => {
        document.querySelectorAll(".samples button").forEach((b) => b.classList.remove("selected"));
        button.classList.add("selected");
        predict(dataUrlToBlob(sample.image), sample.label);
      });
      box.append(button);
    }
    if (samples.length) box.firstChild.click();
  }

  function dataUrlToBlob(url) {
    const [head, data] = url.split(",");
    const bytes = Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0));
    return new Blob([bytes], { type: head.slice(5).split(";")[0] });
  }

  // ------------------------------------------------------------- predict
  async function predict(blob, label) {
    if (blob.size > MAX_UPLOAD) {
      setStatus(`${label} is ${(blob.size / 1048576).toFixed(1)} MB; the limit is 5 MB`, true);
      return;
    }
    setStatus(`running ${state.model ? state.model.name : "the model"} on ${label}…`);
    const started = performance.now();
    try {
      const result = await api(`/api/predict?invert=${encodeURIComponent($("#invert").value)}`, {
        method: "POST", body: blob, headers: { "Content-Type": blob.type || "application/octet-stream" },
      });
      state.result = result;
      state.source = label;
      renderPrediction(result, label);
      renderLayers(result);
      $("#arithmetic").hidden = true;
      setStatus(`${label}: done in ${Math.round(performance.now() - started)} ms`);
    } catch (error) {
      setStatus(`${label}: ${error.message}`, true);
    }
  }

  function renderPrediction(result, label) {
    const best = result.prediction;
    const prediction = $("#prediction");
    prediction.replaceChildren("predicted ", el("strong", { text: result.classes[best] }),
      ` with probability ${(100 * result.probabilities[best]).toFixed(1)}%`);
    prediction.setAttribute("data-source", label);
    let order = result.classes.map((_, i) => i);
    if (order.length > 12) order = order.sort((a, b) => result.probabilities[b] - result.probabilities[a]).slice(0, 10);
    const list = $("#probabilities");
    list.replaceChildren(...order.map((i) => {
      const p = result.probabilities[i];
      const fill = el("div", { class: "fill" });
      fill.style.width = `${(100 * p).toFixed(2)}%`;
      return el("li", { class: i === best ? "top" : "", "data-class": String(i) },
        el("span", { class: "label", text: result.classes[i], title: result.classes[i] }),
        el("div", { class: "track" }, fill),
        el("span", { class: "value", text: `${(100 * p).toFixed(1)}%` }));
    }));
  }

  // --------------------------------------------------------------- layers
  function modelLayer(name) {
    return state.model.layers.find((layer) => layer.name === name);
  }

  function renderLayers(result) {
    const root = $("#layers");
    const inputCanvas = el("canvas", { "data-role": "input", title: "the image as the model sees it" });
    paintInput(inputCanvas, result.input.pixels);
    const [c, h, w] = result.input.shape;
    const rows = [layerRow("input", "image", `${c}×${h}×${w}`, "", [el("div", { class: "map input", "data-name": "input" }, inputCanvas)])];
    for (const layer of result.layers) {
      const scale = layerScale(layer.maps);
      const conv = modelLayer(layer.name.split("#")[0]);
      const clickable = layer.type === "Conv2d" && !layer.name.includes("#");
      const maps = layer.maps.map((rows2d, channel) => {
        const canvas = el("canvas", { "data-layer": layer.name, "data-channel": String(channel) });
        paintMap(canvas, rows2d, scale);
        canvas.addEventListener("mousemove", (event) => {
          const [y, x] = position(event, canvas, layer);
          const v = rows2d[Math.floor(y / layer.step)][Math.floor(x / layer.step)];
          canvas.title = `${layer.name} channel ${channel}, (y ${y}, x ${x}) ≈ ${fmt(v)}` +
            (clickable ? " — click for the arithmetic" : "");
        });
        canvas.addEventListener("click", (event) => {
          const [y, x] = position(event, canvas, layer);
          if (clickable) explain(layer, channel, y, x);
          else setStatus(`${layer.type} ${layer.name}: the arithmetic panel explains convolution layers; ` +
                         `this value comes from a ${conv && conv.type.startsWith("Max") ? "maximum" : "pooling"} over a window of the layer before.`);
        });
        return el("div", { class: "map" }, canvas, el("span", { class: "channel", text: String(channel) }));
      });
      const [channels, lh, lw] = layer.shape;
      let note = layer.channels < channels ? `showing ${layer.channels} of ${channels} channels` : "";
      if (layer.step > 1) note += `${note ? "; " : ""}every ${layer.step}th row and column`;
      rows.push(layerRow(layer.name, layer.type, `${channels}×${lh}×${lw}`,
                         `${note ? note + "; " : ""}range ${fmt(layer.min)} … ${fmt(layer.max)}`, maps));
    }
    root.replaceChildren(...rows);
  }

  function layerScale(maps) {  // the 99th percentile of |value|: a few extreme values do not wash out the rest
    const values = maps.flat(2).map(Math.abs).sort((a, b) => a - b);
    return values[Math.floor(0.99 * (values.length - 1))] || values[values.length - 1] || 1;
  }

  function layerRow(name, type, shape, note, maps) {
    return el("div", { class: "layer", "data-name": name },
      el("div", { class: "layer-info" }, el("b", { text: name }), el("span", { class: "type", text: type }),
         el("small", { text: shape }), el("small", { text: note })),
      el("div", { class: "maps" }, ...maps));
  }

  function position(event, canvas, layer) {  // the (y, x) of the full-resolution map under the pointer
    const rect = canvas.getBoundingClientRect();
    const [, h, w] = layer.shape;
    const x = Math.min(w - 1, Math.max(0, Math.floor((event.clientX - rect.left) / rect.width * canvas.width) * layer.step));
    const y = Math.min(h - 1, Math.max(0, Math.floor((event.clientY - rect.top) / rect.height * canvas.height) * layer.step));
    return [y, x];
  }

  // -------------------------------------------------------------- explain
  async function explain(layer, channel, y, x) {
    try {
      const answer = await api("/api/explain", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ image_id: state.result.image_id, layer: layer.name, channel, y, x }),
      });
      markSelection(answer, layer);
      renderArithmetic(answer);
    } catch (error) {
      setStatus(`explain: ${error.message}`, true);
    }
  }

  function mark(canvasBox, fullHeight, fullWidth, top, left, height, width, kind) {
    const bottom = Math.min(fullHeight, top + height), right = Math.min(fullWidth, left + width);
    top = Math.max(0, top); left = Math.max(0, left);
    if (bottom <= top || right <= left) return;
    const box = el("div", { class: `mark ${kind}` });
    Object.assign(box.style, {
      top: `${100 * top / fullHeight}%`, left: `${100 * left / fullWidth}%`,
      height: `${100 * (bottom - top) / fullHeight}%`, width: `${100 * (right - left) / fullWidth}%`,
    });
    canvasBox.append(box);
  }

  function markSelection(answer, layer) {
    document.querySelectorAll(".mark").forEach((node) => node.remove());
    const [, h, w] = layer.shape;
    const target = document.querySelector(`canvas[data-layer="${CSS.escape(layer.name)}"][data-channel="${answer.channel}"]`);
    if (target) mark(target.parentNode, h, w, answer.y, answer.x, 1, 1, "selected");
    const win = answer.window;
    if (answer.input_layer === "input") {
      const [, ih, iw] = state.result.input.shape;
      mark(document.querySelector('canvas[data-role="input"]').parentNode, ih, iw, win.top, win.left, win.height, win.width, "window");
      return;
    }
    const source = state.result.layers.find((l) => l.name === answer.input_layer);
    if (!source) return;
    const [, sh, sw] = source.shape;
    for (let c = answer.input_channels[0]; c < Math.min(answer.input_channels[1], source.channels); c++) {
      const canvas = document.querySelector(`canvas[data-layer="${CSS.escape(source.name)}"][data-channel="${c}"]`);
      if (canvas) mark(canvas.parentNode, sh, sw, win.top, win.left, win.height, win.width, "window");
    }
  }

  function grid(values, caption, scale, kind) {
    const table = el("table", { class: `grid ${kind}` }, el("caption", { text: caption }));
    for (const row of values) {
      const tr = el("tr");
      for (const v of row) {
        const td = el("td", { text: fmt(v, 2), title: String(v) });
        const [r, g, b] = diverging(scale ? v / scale : 0);
        td.style.background = `rgb(${r},${g},${b})`;
        if (Math.abs(scale ? v / scale : 0) > 0.6) td.style.color = "#fff";
        tr.append(td);
      }
      table.append(tr);
    }
    return table;
  }

  const absMax = (cube) => Math.max(1e-12, ...cube.flat(2).map(Math.abs));

  function renderArithmetic(a) {
    const body = $("#arithmetic-body");
    const [kh, kw] = a.kernel_size;
    const inputs = a.patch.length, first = a.input_channels[0];
    const inputName = a.input_layer === "input" ? "the input image" :
      `${a.input_layer}${a.input_after.length ? " after " + a.input_after.join(", ") : ""}`;
    const rowsEnd = a.window.top + a.window.height - 1, colsEnd = a.window.left + a.window.width - 1;
    const where = el("p", { class: "where" },
      `${a.layer} (${a.type}), output channel ${a.channel}, position (y ${a.y}, x ${a.x}). ` +
      `Input: ${inputName}, channels ${first}–${first + inputs - 1}, rows ${a.window.top}…${rowsEnd}, ` +
      `columns ${a.window.left}…${colsEnd} (kernel ${kh}×${kw}, stride ${a.stride.join("×")}, ` +
      `padding ${a.padding.map((p) => p[0]).join("×")}${a.dilation.some((d) => d > 1) ? ", dilation " + a.dilation.join("×") : ""}` +
      `; positions outside the input read ${a.padding_mode === "zeros" ? "0" : a.padding_mode}).`);
    const parts = [where];
    const patchScale = absMax(a.patch), weightScale = absMax(a.weights), productScale = absMax(a.products);
    for (let c = 0; c < Math.min(inputs, DETAIL_CHANNELS); c++) {
      parts.push(el("div", { class: "channel-calc" },
        el("div", { class: "name", text: `input channel ${first + c}` }),
        grid(a.patch[c], "input patch", patchScale, "patch"), el("span", { class: "op", text: "×" }),
        grid(a.weights[c], `kernel [${a.channel}, ${c}]`, weightScale, "kernel"), el("span", { class: "op", text: "=" }),
        grid(a.products[c], "products", productScale, "products"),
        el("span", { class: "sum", text: `sum = ${fmt(a.channel_sums[c], 4)}` })));
    }
    if (inputs > DETAIL_CHANNELS) {
      parts.push(el("p", { class: "where", text: `… and ${inputs - DETAIL_CHANNELS} more input channels, whose sums are ` +
        a.channel_sums.slice(DETAIL_CHANNELS).map((s) => fmt(s)).join(", ") }));
    }
    const terms = a.channel_sums.length <= 8 ? a.channel_sums.map((s) => fmt(s, 4)).join(" + ").replace(/\+ -/g, "− ")
      : `${a.channel_sums.length} channel sums`;
    const lines = [
      el("div", {}, `Σ products over ${inputs} channel${inputs > 1 ? "s" : ""} × ${kh * kw} positions = ${terms} = `,
         el("b", { text: fmt(a.sum, 5) })),
      el("div", {}, `+ bias ${fmt(a.bias, 5)} = `, el("span", { class: "result", text: fmt(a.value, 5) }),
         `  (${a.type} output)`),
    ];
    let v = a.value;
    for (const step of a.steps) {
      lines.push(el("div", {}, `${step.type} (${step.layer}): ${step.formula} with v = ${fmt(v, 5)} → `,
                    el("span", { class: "result", text: fmt(step.value, 5) })));
      v = step.value;
    }
    const diff = Math.abs(a.value - a.actual);
    lines.push(el("div", { class: "check" }, `the forward pass computed ${fmt(a.actual, 5)} for this element ` +
      `${diff <= 1e-5 * Math.max(1, Math.abs(a.actual)) ? "✓" : "✗"} (difference ${diff.toExponential(1)})`));
    parts.push(el("div", { class: "equation" }, ...lines));
    body.replaceChildren(...parts);
    const panel = $("#arithmetic");
    panel.hidden = false;
    panel.setAttribute("data-layer-explained", a.layer);
    panel.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  // ----------------------------------------------------------- playground
  const pg = { position: 0, playing: true, timer: null };

  function outputSize(n, p, k, s) {  // one formula, as cnnlab.shapes.conv_output_size (dilation 1)
    return Math.floor((n + 2 * p - k) / s) + 1;
  }

  function readPlayground() {
    const value = (id, low, high) => {
      const input = $(id);
      const v = Math.round(Number(input.value));
      return Number.isFinite(v) ? Math.max(low, Math.min(high, v)) : low;
    };
    return { n: value("#pg-n", 1, 128), p: value("#pg-p", 0, 8), k: value("#pg-k", 1, 11), s: value("#pg-s", 1, 8) };
  }

  function updatePlayground() {
    const { n, p, k, s } = readPlayground();
    const text = $("#output-size");
    pg.position = 0;
    if (n + 2 * p < k) {
      text.textContent = `the kernel (k = ${k}) is larger than the padded input (n + 2p = ${n + 2 * p}): no output`;
      text.setAttribute("data-output", "none");
    } else {
      const o = outputSize(n, p, k, s);
      const left = (n + 2 * p - k) % s;
      text.textContent = `output = ⌊(n + 2p − k) / s⌋ + 1 = ⌊(${n} + 2·${p} − ${k}) / ${s}⌋ + 1 = ` +
        `⌊${n + 2 * p - k} / ${s}⌋ + 1 = ${o}` + (o > 0 ? `   →   ${o}×${o} output` : "") +
        (left ? `   (the last ${left} padded row${left > 1 ? "s" : ""} and column${left > 1 ? "s" : ""} are never covered)` : "");
      text.setAttribute("data-output", String(o));
    }
    drawPlayground();
  }

  function drawPlayground() {
    const canvas = $("#pg-canvas"), ctx = canvas.getContext("2d");
    const { n, p, k, s } = readPlayground();
    const size = n + 2 * p, o = size >= k ? outputSize(n, p, k, s) : 0;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const cell = Math.max(2, Math.min(26, Math.floor(300 / Math.max(size, o, 1))));
    const x0 = 10, y0 = 24, x1 = x0 + size * cell + 70;
    const height = y0 + Math.max(size, o) * cell + 10;
    if (canvas.height !== height) canvas.height = height;
    ctx.font = "13px system-ui, sans-serif";
    ctx.fillStyle = "#5b6575";
    ctx.fillText(`padded input ${size}×${size}`, x0, 16);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        const padded = i < p || j < p || i >= p + n || j >= p + n;
        ctx.fillStyle = padded ? "#e9ecef" : "#dbe4ff";
        ctx.fillRect(x0 + j * cell, y0 + i * cell, cell - 1, cell - 1);
      }
    }
    if (!o) return;
    const step = pg.position % (o * o), oi = Math.floor(step / o), oj = step % o;
    ctx.fillStyle = "rgba(217, 72, 15, 0.35)";
    ctx.fillRect(x0 + oj * s * cell, y0 + oi * s * cell, k * cell - 1, k * cell - 1);
    ctx.strokeStyle = "#d9480f"; ctx.lineWidth = 2;
    ctx.strokeRect(x0 + oj * s * cell, y0 + oi * s * cell, k * cell - 1, k * cell - 1);
    ctx.fillStyle = "#5b6575";
    ctx.fillText(`output ${o}×${o}`, x1, 16);
    const ocell = cell;
    for (let i = 0; i < o; i++) {
      for (let j = 0; j < o; j++) {
        const done = i * o + j < step;
        ctx.fillStyle = i === oi && j === oj ? "#d9480f" : done ? "#ffc9a8" : "#f1f3f5";
        ctx.fillRect(x1 + j * ocell, y0 + i * ocell, ocell - 1, ocell - 1);
      }
    }
    ctx.strokeStyle = "#adb5bd"; ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x0 + oj * s * cell + k * cell, y0 + oi * s * cell + k * cell / 2);
    ctx.lineTo(x1 + oj * ocell + ocell / 2, y0 + oi * ocell + ocell / 2);
    ctx.stroke();
  }

  function tick() {
    pg.position += 1;
    drawPlayground();
  }

  function buildPresets(model) {
    const box = $("#pg-presets");
    let previous = model.input_shape;
    const buttons = [];
    for (const layer of model.layers) {
      if (layer.conv && previous.length === 3 && previous[1] === previous[2]) {
        const c = layer.conv, n = previous[1];
        if (c.kernel_size[0] === c.kernel_size[1] && c.stride[0] === c.stride[1] && c.dilation[0] === 1 &&
            c.padding[0][0] === c.padding[0][1]) {
          const button = el("button", { type: "button", text: `${layer.name}: n=${Math.min(n, 128)} p=${c.padding[0][0]} k=${c.kernel_size[0]} s=${c.stride[0]}` });
          button.addEventListener("click", () => {
            $("#pg-n").value = Math.min(n, 128); $("#pg-p").value = c.padding[0][0];
            $("#pg-k").value = c.kernel_size[0]; $("#pg-s").value = c.stride[0];
            updatePlayground();
          });
          buttons.push(button);
        }
      }
      if (layer.shape.length === 3) previous = layer.shape;
    }
    if (buttons.length) box.replaceChildren(el("span", { text: "this model's convolutions:" }), ...buttons);
  }

  function startPlayground() {
    for (const id of ["#pg-n", "#pg-p", "#pg-k", "#pg-s"]) $(id).addEventListener("input", updatePlayground);
    $("#pg-play").addEventListener("click", () => {
      pg.playing = !pg.playing;
      $("#pg-play").textContent = pg.playing ? "pause" : "play";
      clearInterval(pg.timer);
      if (pg.playing) pg.timer = setInterval(tick, 600);
    });
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      pg.playing = false;
      $("#pg-play").textContent = "play";
    } else {
      pg.timer = setInterval(tick, 600);
    }
    updatePlayground();
  }

  // --------------------------------------------------------------- upload
  function startUpload() {
    const input = $("#file-input"), zone = $("#drop-zone");
    input.addEventListener("change", () => {
      if (input.files.length) {
        document.querySelectorAll(".samples button").forEach((b) => b.classList.remove("selected"));
        predict(input.files[0], input.files[0].name);
      }
    });
    zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      const file = event.dataTransfer.files[0];
      if (file) predict(file, file.name);
    });
    $("#invert").addEventListener("change", () => {
      const selected = document.querySelector(".samples button.selected");
      if (selected) selected.click();
      else if (input.files.length) predict(input.files[0], input.files[0].name);
    });
    $("#arithmetic-close").addEventListener("click", () => {
      $("#arithmetic").hidden = true;
      document.querySelectorAll(".mark").forEach((node) => node.remove());
    });
  }

  async function main() {
    startPlayground();
    startUpload();
    try {
      await loadModel();
      await loadSamples();
    } catch (error) {
      setStatus(`could not reach the server: ${error.message}`, true);
    }
  }

  document.addEventListener("DOMContentLoaded", main);
})();
