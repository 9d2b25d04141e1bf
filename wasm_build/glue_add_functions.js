// Spliced into Pyodide's Emscripten glue by the build (build._GLUE_ADD_FUNCTIONS): every boot,
// cold or restored, puts the JavaScript functions whose address Pyodide's wasm takes (259 of its
// GOT imports) into the function table. Emscripten's addFunction wraps each in a wasm function
// of its own: one tiny WebAssembly module compiled and instantiated per function. This wraps
// them all with one module, and gives them the same table slots, in the same order, as the
// one-by-one loop did (a saved boot holds those slot numbers in its memory).
// `pending` is [GOT entry, JS function] in the GOT's order; generateTypePack,
// getFunctionAddress, getEmptyTableSlot, setWasmTableEntry and functionsInTableMap are the
// glue's own.
var addFunctionsAtOnce = (pending) => {
  var slots = new Map();
  for (var [entry, func] of pending) {
    var slot = getFunctionAddress(func) || slots.get(func);
    if (!slot) {
      slot = getEmptyTableSlot();
      slots.set(func, slot);
    }
    entry.value = slot;
  }
  var funcs = [...slots.keys()];
  if (!funcs.length) return;
  var leb = (n) => {
    var bytes = [];
    do {
      var low = n & 127;
      n >>>= 7;
      bytes.push(n ? low | 128 : low);
    } while (n);
    return bytes;
  };
  var section = (id, items) => {
    var body = [...leb(items.length), ...items.flat()];
    return [id, ...leb(body.length), ...body];
  };
  var name = (i) => [...leb(String(i).length), ...Array.from(String(i), (c) => c.charCodeAt(0))];
  // Function i: type i (its signature), imported as e.<i> and exported as <i>.
  var types = funcs.map((f) => [
    0x60,
    ...generateTypePack(f.sig.slice(1)),
    ...generateTypePack(f.sig[0] === "v" ? "" : f.sig[0]),
  ]);
  var bytes = Uint8Array.from([
    0, 97, 115, 109, 1, 0, 0, 0,
    ...section(1, types),
    ...section(2, funcs.map((f, i) => [1, 101, ...name(i), 0, ...leb(i)])),
    ...section(7, funcs.map((f, i) => [...name(i), 0, ...leb(i)])),
  ]);
  var wrapped = new WebAssembly.Instance(new WebAssembly.Module(bytes), { e: { ...funcs } })
    .exports;
  funcs.forEach((func, i) => {
    setWasmTableEntry(slots.get(func), wrapped[i]);
    functionsInTableMap.set(func, slots.get(func));
  });
};
