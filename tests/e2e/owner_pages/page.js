// The owner's own code: reports the add-to-cart with its value, through the stub or the loader.
document.getElementById("buy").addEventListener("click", function () {
  window.rapport && rapport.track("add_to_cart", { value: 149, currency: "usd" });
});
