/* The lineage picture of an asset's page (templates/admin/catalog/asset/lineage.html, catalog.admin_lineage).
 *
 * Draws the graph the page carries (#lineage-data) with Cytoscape.js, laid out left to right by dagre (upstream
 * left, downstream right, one layer a hop). Clicking a node fetches its neighbours from its lineage URL and merges
 * them in; "Show columns" redraws from the column-level graph, each column inside its table (a field inside its
 * dataset), and hides a table-level flow that flows between those tables' columns are drawn for. The box zooms and
 * pans inside itself: the page never widens. The counts the tests read are kept on the box (data-nodes, …). */
(function () {
  "use strict";
  var box = document.querySelector(".lineage");
  var carried = document.getElementById("lineage-data");
  if (!box || !carried || typeof window.cytoscape !== "function") return;  // the table below stays the view
  box.hidden = false;

  var canvas = box.querySelector(".lineage-canvas");
  var status = box.querySelector(".lineage-status");
  var selected = box.querySelector(".lineage-selected");
  var toggle = box.querySelector(".lineage-columns");
  var startUrl = box.dataset.lineageUrl;
  var columns = false;
  var expanded = {};  // node key -> true once its neighbours were merged in
  var hidden = 0;
  var FONT = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";
  var measure = document.createElement("canvas").getContext("2d");
  measure.font = FONT;

  var cy = window.cytoscape({
    container: canvas,
    minZoom: 0.15,
    maxZoom: 2.5,
    wheelSensitivity: 0.3,
    boxSelectionEnabled: false,
    autoungrabify: true,
    style: [
      {selector: "node", style: {
        "shape": "round-rectangle", "width": "data(width)", "height": "data(height)", "label": "data(display)",
        "font-size": 12, "font-family": "system-ui, -apple-system, 'Segoe UI', sans-serif",
        "text-valign": "center", "text-halign": "center", "text-wrap": "wrap",
        "background-color": "#ffffff", "border-width": 1, "border-color": "#79aec8", "color": "#1f2d3d"}},
      {selector: "node.start", style: {"border-width": 3, "border-color": "#264b5d", "font-weight": "bold",
                                       "background-color": "#e8f1f6"}},
      {selector: "node.expanded", style: {"background-color": "#f3f7ea"}},
      {selector: "node.sensitive", style: {"border-color": "#b71c1c", "border-width": 2, "color": "#8b1010"}},
      {selector: "node.start.sensitive", style: {"border-width": 3}},
      {selector: "node.external", style: {"border-style": "dashed", "border-color": "#777777",
                                          "background-color": "#f4f4f4", "color": "#444444",
                                          "shape": "cut-rectangle"}},
      {selector: "node.context", style: {"border-style": "dotted", "color": "#666666"}},
      {selector: ":parent", style: {
        "text-valign": "top", "text-halign": "center", "text-margin-y": -4, "padding": 8,
        "background-color": "#f8fbfd", "background-opacity": 1, "shape": "round-rectangle"}},
      {selector: "node.column", style: {"font-size": 11, "background-color": "#ffffff"}},
      {selector: "node:selected", style: {"overlay-color": "#417690", "overlay-opacity": 0.15,
                                          "overlay-padding": 4}},
      {selector: "edge", style: {
        "width": 1.5, "line-color": "#8aa9b8", "target-arrow-color": "#8aa9b8", "target-arrow-shape": "triangle",
        "curve-style": "bezier", "arrow-scale": 0.9}},
      {selector: "edge.column", style: {"line-color": "#c9a227", "target-arrow-color": "#c9a227", "width": 1.2}},
      {selector: "edge.through-hidden", style: {"line-style": "dashed", "line-color": "#999999",
                                                "target-arrow-color": "#999999"}},
      {selector: "edge.covered", style: {"display": "none"}}
    ]
  });

  function display(node) {
    // Not colour alone: a sensitive node's label carries the warning sign and its level, an external one says so.
    var lines = [(node.sensitive ? "⚠ " : "") + node.label];
    if (node.sensitive) lines.push(node.sensitivity);
    else if (node.external) lines.push("external " + node.type);
    return lines.join("\n");
  }

  function widthOf(text) {
    return Math.max.apply(null, text.split("\n").map(function (line) { return measure.measureText(line).width; }));
  }

  function classesOf(node) {
    var classes = [];
    if (node.start) classes.push("start");
    if (node.sensitive) classes.push("sensitive");
    if (node.external) classes.push("external");
    if (node.type === "column" || node.type === "field") classes.push("column");
    if (!node.reached) classes.push("context");  // a table added to hold its reached columns
    if (expanded[node.key]) classes.push("expanded");
    return classes.join(" ");
  }

  function merge(graph) {
    var added = 0;
    // Parents first: Cytoscape places a child only in a parent it already holds.
    var nodes = graph.nodes.slice().sort(function (a, b) { return (a.parent ? 1 : 0) - (b.parent ? 1 : 0); });
    nodes.forEach(function (node) {
      var present = cy.getElementById(node.key);
      if (present.nonempty()) {
        if (node.reached && !present.data("reached")) {
          present.data("reached", true);
          present.removeClass("context");
        }
        return;
      }
      var text = display(node);
      var data = Object.assign({id: node.key, display: text, width: widthOf(text) + 20,
                                height: text.indexOf("\n") < 0 ? 26 : 38}, node);
      if (node.parent && cy.getElementById(node.parent).empty()) delete data.parent;
      cy.add({group: "nodes", data: data, classes: classesOf(node)});
      added += 1;
    });
    graph.edges.forEach(function (edge) {
      if (cy.getElementById(edge.key).nonempty()) return;
      var classes = (edge.level === "column" ? "column" : "") + (edge.through_hidden ? " through-hidden" : "");
      cy.add({group: "edges", data: {id: edge.key, source: edge.source, target: edge.target, origin: edge.origin},
              classes: classes});
    });
    // "At least": two answers may count the same hidden node, and only the server may tell them apart.
    hidden = Math.max(hidden, graph.hidden);
    return added;
  }

  function coverTableFlows() {
    // With columns shown, a flow between two tables whose columns' flows are drawn says nothing more, and its
    // arrow ran beside the column rows: hidden, and left out of the layout. A table-level flow without column
    // lineage (nothing known of which columns) stays.
    cy.edges().removeClass("covered");
    if (!columns) return;
    var between = {};
    cy.edges(".column").forEach(function (edge) {
      var from = edge.source().parent(), to = edge.target().parent();
      if (from.nonempty() && to.nonempty()) between[from.id() + ">" + to.id()] = true;
    });
    cy.edges().not(".column").forEach(function (edge) {
      if (between[edge.source().id() + ">" + edge.target().id()]) edge.addClass("covered");
    });
  }

  function layout() {
    coverTableFlows();
    // Columns put each table's name above its box, where dagre does not reckon it: more room between rows then.
    cy.elements().not(".covered").layout({name: "dagre", rankDir: "LR", nodeSep: columns ? 28 : 8, rankSep: 70,
                                          edgeSep: 8, ranker: "network-simplex", fit: true, padding: 16,
                                          animate: false}).run();
    if (cy.zoom() < 0.6) {  // a big graph shrunk to fit would be unreadable: start at the asset, readable
      cy.zoom(0.6);
      cy.center(cy.nodes(".start"));
    }
    var columnEdges = cy.edges(".column").length;
    box.dataset.nodes = cy.nodes().length;
    box.dataset.edges = cy.edges().not(".covered").length;
    box.dataset.covered = cy.edges(".covered").length;
    box.dataset.columnEdges = columnEdges;
    box.dataset.sensitive = cy.nodes(".sensitive").length;
    box.dataset.expanded = Object.keys(expanded).length;
    status.textContent = cy.nodes().not(":parent").length + " nodes, " + cy.edges().not(".covered").length +
      " flows" +
      (columns ? " (" + columnEdges + " between columns)" : "") +
      (hidden ? "; at least " + hidden + " hidden" : "") + ". Drag to pan, scroll to zoom.";
  }

  function fetchGraph(url, depth) {
    var query = url + "?depth=" + depth + "&columns=" + (columns ? "1" : "0");
    return fetch(query, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error("the server answered " + response.status);
        return response.json();
      });
  }

  function show(node) {
    var data = node.data();
    selected.textContent = "";
    var name = document.createElement(data.url ? "a" : "strong");
    name.textContent = data.qualified_name;
    if (data.url) name.href = data.url;
    selected.append(name);
    var facts = [data.type];
    if (data.source) facts.push("in " + data.source);
    if (data.sensitive) facts.push("⚠ " + data.sensitivity);
    if (data.external) facts.push("external: no page of its own");
    selected.append(" — " + facts.join(", "));
  }

  cy.on("tap", "node", function (event) {
    var node = event.target;
    show(node);
    var data = node.data();
    if (!data.lineage_url || expanded[data.id]) return;
    status.textContent = "Fetching the neighbours of " + data.label + "…";
    fetchGraph(data.lineage_url, 1).then(function (graph) {
      expanded[data.id] = true;
      node.addClass("expanded");
      var added = merge(graph);
      layout();
      status.textContent = (added ? added + " added around " : "Nothing more around ") + data.label + ". " +
        status.textContent;
    }).catch(function (error) { status.textContent = "Could not expand " + data.label + ": " + error.message; });
  });

  box.querySelectorAll(".lineage-zoom").forEach(function (button) {
    button.addEventListener("click", function () {
      var how = button.dataset.zoom;
      if (how === "fit") { cy.fit(undefined, 16); return; }
      var center = {x: canvas.clientWidth / 2, y: canvas.clientHeight / 2};
      cy.zoom({level: cy.zoom() * (how === "in" ? 1.25 : 0.8), renderedPosition: center});
    });
  });

  function redraw(graph) {
    cy.elements().remove();
    expanded = {};
    hidden = 0;
    merge(graph);
    layout();
  }

  if (toggle) {
    toggle.addEventListener("change", function () {
      columns = toggle.checked;
      status.textContent = "Fetching…";
      fetchGraph(startUrl, box.dataset.depth).then(redraw).catch(function (error) {
        status.textContent = "Could not fetch the lineage: " + error.message;
      });
    });
  }

  var first = JSON.parse(carried.textContent);
  columns = first.columns;
  if (toggle) toggle.checked = columns;
  redraw(first);
}());
