// The data source form shows the driver options of the chosen engine only (each engine's options are a fieldset
// with the class engine-<engine>); the server ignores the others anyway. A file, not inline: the CSP forbids those.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
    const engine = document.getElementById("id_engine");
    if (!engine) {
        return;
    }
    function showChosen() {
        document.querySelectorAll("fieldset.engine-options").forEach(function (fieldset) {
            fieldset.hidden = !fieldset.classList.contains("engine-" + engine.value);
        });
    }
    engine.addEventListener("change", showChosen);
    showChosen();
});
