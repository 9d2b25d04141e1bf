/* Northwind Audio demo shop: cart in localStorage, forms that stay in the browser, and the
 * footer "Personalization" badge. Works the same with or without Rapport on the page.
 *
 * Loaded synchronously before Rapport's async tag so the rapport:hint listener exists before
 * Rapport can dispatch its first hint; everything that touches the DOM waits for it. */
(function () {
  "use strict";

  var CART_KEY = "northwind-cart";
  var latestHints = null;

  function onReady(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  function formatEUR(amount) {
    try {
      return new Intl.NumberFormat("en-IE", { style: "currency", currency: "EUR" }).format(amount);
    } catch (e) {
      return "€" + Number(amount).toFixed(2);
    }
  }

  /* ---------- Cart (this origin's localStorage only) ---------- */

  function readCart() {
    try {
      var parsed = JSON.parse(window.localStorage.getItem(CART_KEY) || "[]");
      return Array.isArray(parsed) ? parsed.filter(function (line) {
        return line && typeof line.sku === "string" && isFinite(line.price) && line.qty > 0;
      }) : [];
    } catch (e) {
      return [];
    }
  }

  function writeCart(lines) {
    try {
      window.localStorage.setItem(CART_KEY, JSON.stringify(lines));
    } catch (e) {
      /* storage full or disabled: the cart just doesn't persist */
    }
  }

  function cartQuantity(lines) {
    return lines.reduce(function (sum, line) { return sum + line.qty; }, 0);
  }

  function updateCartCount() {
    var count = document.getElementById("cart-count");
    if (count) {
      var qty = cartQuantity(readCart());
      count.textContent = String(qty);
      count.setAttribute("aria-label", qty === 1 ? "1 item" : qty + " items");
    }
  }

  /** Tell Rapport about an action, if Rapport is on the page; never break the shop. */
  function reportToRapport(name, data) {
    try {
      if (window.rapport && typeof window.rapport.track === "function") {
        window.rapport.track(name, data);
      }
    } catch (e) {
      /* Rapport is optional */
    }
  }

  function setUpAddToCart() {
    var button = document.getElementById("add-to-cart");
    if (!button) return;
    var confirmation = document.getElementById("cart-confirmation");
    button.addEventListener("click", function () {
      var sku = button.getAttribute("data-sku");
      var price = Number(button.getAttribute("data-price"));
      var lines = readCart();
      var line = lines.filter(function (l) { return l.sku === sku; })[0];
      if (line) {
        line.qty += 1;
      } else {
        lines.push({
          sku: sku,
          name: button.getAttribute("data-name"),
          image: button.getAttribute("data-image"),
          url: window.location.pathname,
          price: price,
          qty: 1,
        });
      }
      writeCart(lines);
      updateCartCount();
      reportToRapport("add_to_cart", { value: price, currency: "EUR" });
      if (confirmation) {
        var qty = (line && line.qty) || 1;
        confirmation.textContent = qty > 1 ? "Added to cart (" + qty + " in cart)" : "Added to cart";
        confirmation.hidden = true;
        void confirmation.offsetWidth; /* restart the pop-in animation */
        confirmation.hidden = false;
      }
    });
  }

  function renderCartPage() {
    var list = document.getElementById("cart-items");
    if (!list) return;
    var empty = document.getElementById("cart-empty");
    var total = document.getElementById("cart-total");
    var subtotal = document.getElementById("cart-subtotal");
    var clear = document.getElementById("clear-cart");
    var lines = readCart();
    list.textContent = "";
    var sum = 0;
    lines.forEach(function (line) {
      sum += line.price * line.qty;
      var item = document.createElement("li");
      item.className = "cart-item";
      item.setAttribute("data-sku", line.sku);
      var img = document.createElement("img");
      img.alt = "";
      if (typeof line.image === "string" && line.image.charAt(0) === "/") img.src = line.image;
      var text = document.createElement("div");
      var name = document.createElement(typeof line.url === "string" && line.url.charAt(0) === "/" ? "a" : "span");
      name.className = "name";
      name.textContent = String(line.name || line.sku);
      if (name.tagName === "A") name.href = line.url;
      var qty = document.createElement("div");
      qty.className = "qty";
      qty.textContent = "Qty " + line.qty + " × " + formatEUR(line.price);
      text.appendChild(name);
      text.appendChild(qty);
      var lineTotal = document.createElement("div");
      lineTotal.className = "line-total";
      lineTotal.textContent = formatEUR(line.price * line.qty);
      item.appendChild(img);
      item.appendChild(text);
      item.appendChild(lineTotal);
      list.appendChild(item);
    });
    if (empty) empty.hidden = lines.length > 0;
    if (total) total.textContent = formatEUR(sum);
    if (subtotal) subtotal.textContent = formatEUR(sum);
    if (clear) {
      clear.disabled = lines.length === 0;
      clear.onclick = function () {
        writeCart([]);
        updateCartCount();
        renderCartPage();
      };
    }
  }

  /* ---------- Forms: demo only, nothing is submitted anywhere ---------- */

  function keepFormLocal(formId, statusId, message) {
    var form = document.getElementById(formId);
    var status = document.getElementById(statusId);
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (status) {
        status.textContent = message;
        status.hidden = false;
      }
    });
  }

  /* ---------- Personalization badge ---------- */

  function renderHints() {
    var panel = document.getElementById("rapport-panel");
    var status = document.getElementById("rapport-status");
    var list = document.getElementById("rapport-hints");
    if (!panel || !status || !list || latestHints === null) return;
    list.textContent = "";
    latestHints.forEach(function (hint) {
      var item = document.createElement("li");
      item.className = "rapport-hint";
      var name = document.createElement("span");
      name.className = "rapport-hint-name";
      name.textContent = String(hint.pattern || hint.kind || "hint");
      item.appendChild(name);
      var meta = [];
      if (hint.kind) meta.push(String(hint.kind));
      if (hint.source) meta.push("from " + (hint.source === "face" ? "the face (camera, on this device)" : String(hint.source)));
      var strength = Number(hint.strength);
      if (hint.strength !== undefined && isFinite(strength)) meta.push("strength " + strength.toFixed(2));
      if (meta.length) {
        var metaEl = document.createElement("span");
        metaEl.className = "rapport-hint-meta";
        metaEl.textContent = " · " + meta.join(" · ");
        item.appendChild(metaEl);
      }
      var reasons = Array.isArray(hint.reasons) ? hint.reasons : [];
      if (reasons.length) {
        var reasonList = document.createElement("ul");
        reasonList.className = "rapport-reasons";
        reasons.slice(0, 8).forEach(function (reason) {
          var r = document.createElement("li");
          r.textContent = String(reason);
          reasonList.appendChild(r);
        });
        item.appendChild(reasonList);
      }
      list.appendChild(item);
    });
    var n = latestHints.length;
    status.textContent = n === 0
      ? "Rapport: no active hints"
      : "Rapport: " + n + (n === 1 ? " active hint" : " active hints");
    panel.classList.toggle("is-active", n > 0);
  }

  document.addEventListener("rapport:hint", function (event) {
    try {
      var detail = event && event.detail;
      var hints = detail && Array.isArray(detail.hints) ? detail.hints : [];
      latestHints = hints.filter(function (h) { return h && typeof h === "object"; });
      onReady(renderHints);
    } catch (e) {
      /* a malformed event must not break the page */
    }
  });

  /* Visitor rights: Rapport's own API; this page only shows what it returns. */
  function setUpYourData() {
    var show = document.getElementById("data-show");
    if (!show) return;
    var status = document.getElementById("data-status");
    var view = document.getElementById("data-view");
    function api() {
      return window.rapport && window.rapport.visitor ? window.rapport.visitor : null;
    }
    function say(text) { status.textContent = text; }
    function summary(body) {
      var counts = (body && body.counts) || {};
      return Object.keys(counts).map(function (k) { return counts[k] + " " + k; }).join(", ");
    }
    show.addEventListener("click", function () {
      if (!api()) { say("Rapport is not running on this page."); return; }
      api().export().then(function (res) {
        if (res.status !== 200) { say("Nothing stored about you (or the server is unreachable)."); return; }
        say("Stored about you: " + (summary(res.body) || "nothing") + ".");
        view.textContent = JSON.stringify(res.body, null, 2);
        view.hidden = false;
      });
    });
    document.getElementById("data-download").addEventListener("click", function () {
      if (!api()) { say("Rapport is not running on this page."); return; }
      api().export().then(function (res) {
        if (res.status !== 200) { say("Nothing to download."); return; }
        var blob = new Blob([JSON.stringify(res.body, null, 2)], { type: "application/json" });
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = "my-rapport-data.json";
        link.click();
        URL.revokeObjectURL(link.href);
      });
    });
    document.getElementById("data-erase").addEventListener("click", function () {
      if (!api()) { say("Rapport is not running on this page."); return; }
      api().erase().then(function (res) {
        if (res.status !== 200) { say("Nothing was erased (no data, or the server is unreachable)."); return; }
        view.hidden = true;
        say("Erased: " + (summary({ counts: res.body && res.body.removed }) || "nothing") +
          ". Rapport starts afresh on your next page.");
      });
    });
  }

  onReady(function () {
    setUpYourData();
    updateCartCount();
    setUpAddToCart();
    renderCartPage();
    keepFormLocal("question-form", "question-status",
      "Thanks! This is a demo shop, so your question stays in your browser.");
    keepFormLocal("order-form", "order-status-result",
      "Demo shop: no real orders here, so nothing was looked up.");
    keepFormLocal("chat-form", "chat-status",
      "Thanks! This is a demo shop, so your message stays in your browser.");
    keepFormLocal("newsletter-form", "newsletter-status",
      "Thanks! (Demo shop: nothing was sent.)");
    renderHints();
  });

  /* The cart count follows other tabs. */
  window.addEventListener("storage", function (event) {
    if (event.key === CART_KEY) {
      updateCartCount();
      renderCartPage();
    }
  });
})();
