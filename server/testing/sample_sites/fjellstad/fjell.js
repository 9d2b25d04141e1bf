// The site's own code: a basket button, a question box and a chat dock (no Rapport markup needed
// beyond data-rapport-* attributes; rapport.track is the documented call).
document.addEventListener("submit", function (e) {
  e.preventDefault();
  var field = e.target.querySelector("input[type=text], textarea");
  var log = document.getElementById(e.target.getAttribute("data-log"));
  if (log && field && field.value) {
    var li = document.createElement("li");
    li.textContent = "You: " + field.value;
    log.appendChild(li);
    field.value = "";
  }
});
document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-basket]");
  if (!b) return;
  document.getElementById("basket-count").textContent = "1";
  window.rapport && rapport.track("add_to_cart", { value: +b.getAttribute("data-basket"), currency: "EUR" });
});
