// Rapport demo chat widget: answers canned questions with the length and tone of the current
// hint's `chat` block. Include: <link rel="stylesheet" href="/chat.css"><script src="/chat.js" defer></script>
(function () {
  'use strict';
  var lang = (document.documentElement.lang || 'en').slice(0, 2) === 'ru' ? 'ru' : 'en';
  var hints = [];
  var ANSWERS = {
    returns: {
      one_sentence: 'Free returns within 30 days.',
      short: 'You can return it free of charge within 30 days. Just start a return from your order page.',
      detailed: 'Returns: free within 30 days of delivery, in original condition.\n• Start from the order page\n• Prepaid label by e-mail\n• Refund within 5 business days of receipt\n• Exchanges ship as soon as the return is scanned.'
    },
    warranty: {
      one_sentence: 'Two-year warranty, parts and labour.',
      short: 'Every product has a 2-year warranty covering parts and labour; we handle the claim for you.',
      detailed: 'Warranty: 2 years from delivery.\n• Covers manufacturing defects, parts and labour\n• Battery: 80 % capacity guaranteed for 1 year\n• Claims via the order page; repair or replacement within 10 days\n• Accidental damage is not covered.'
    },
    delivery: {
      one_sentence: 'Delivery takes 1–2 business days.',
      short: 'Orders before 3 pm ship the same day and arrive in 1–2 business days; shipping is free over €50.',
      detailed: 'Delivery:\n• Standard 1–2 business days (free over €50, else €4.90)\n• Express next morning (€9.90, order before 3 pm)\n• Tracking link by e-mail\n• Pick-up points available at checkout.'
    },
    price: {
      one_sentence: 'The price shown is the final price, VAT included.',
      short: 'The price shown includes VAT; shipping is free over €50 and there are no hidden fees.',
      detailed: 'Price details:\n• VAT included\n• Free shipping over €50\n• No card fees\n• Price-match within 14 days if we lower the price.'
    },
    order: {
      one_sentence: 'Send me your order number and I will check it now.',
      short: 'Sorry about the trouble. Send me your order number and I will check its status right away.',
      detailed: 'Let me help with your order. Please send the order number (from the confirmation e-mail). I will check the status, the carrier’s tracking and any open return or claim.'
    }
  };
  var PREFIX = {
    neutral: '', concise: '', expert: '',
    reassuring: 'Good question. ', empathetic: 'I understand, that is annoying. ', apologetic: 'I am sorry. '
  };
  var QUESTIONS = [['returns', 'Can I return it?'], ['warranty', 'What about the warranty?'],
    ['delivery', 'When will it arrive?'], ['price', 'Any extra costs?'], ['order', 'Where is my order?']];

  function api() { return window.rapport || {}; }
  function top() {
    var now = Date.now() / 1000;
    return hints.filter(function (h) { return h.chat && (!h.expires_at || h.expires_at > now); })
      .sort(function (a, b) { return b.strength - a.strength; })[0] || null;
  }
  function topicOf(text) {
    var t = text.toLowerCase();
    if (/return|refund|возврат/.test(t)) return 'returns';
    if (/warrant|guarantee|гарант/.test(t)) return 'warranty';
    if (/deliver|ship|arriv|доставк/.test(t)) return 'delivery';
    if (/price|cost|fee|цен|стоим/.test(t)) return 'price';
    if (/order|track|заказ/.test(t)) return 'order';
    return null;
  }
  function answer(text) {
    var hint = top();
    var chat = hint ? hint.chat : { length: 'short', tone: 'neutral', handoff: 'none' };
    var topic = topicOf(text);
    var body = topic ? ANSWERS[topic][chat.length] || ANSWERS[topic].short
      : (chat.length === 'one_sentence' ? 'Could you say which product?' : 'Happy to help — is it about returns, warranty, delivery, price or an order?');
    var reply = (PREFIX[chat.tone] || '') + body;
    if (chat.handoff === 'now') reply += ' I am connecting you with a colleague now.';
    else if (chat.handoff === 'offer') reply += ' Would you like to talk to a person?';
    return reply;
  }

  var root = document.createElement('section');
  root.className = 'rapport-chat closed';
  root.innerHTML = '<header><span>Questions?</span><span class="state">▲</span></header>' +
    '<div class="log" aria-live="polite"></div><div class="quick"></div>' +
    '<form><input name="q" autocomplete="off" placeholder="Ask us…" aria-label="Message"><button>Send</button></form>' +
    '<details><summary>Rapport debug</summary><pre class="debug">no hint yet</pre>' +
    '<button type="button" data-o="helpful">👍</button> <button type="button" data-o="dismissed">✕</button></details>';
  var log = root.querySelector('.log');
  var debug = root.querySelector('.debug');
  var openedFor = null;

  function say(text, who) {
    var div = document.createElement('div');
    div.className = 'msg ' + who;
    div.textContent = text;
    div.style.whiteSpace = 'pre-line';
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
  }
  function send(text) {
    if (!text) return;
    say(text, 'me');
    var r = api();
    if (typeof r.chat === 'function') { try { r.chat(text); } catch (e) { /* never break the page */ } }
    setTimeout(function () { say(answer(text), 'bot'); }, 250);
  }
  function render() {
    var hint = top();
    if (!hint) { debug.textContent = 'no hint with a chat block'; return; }
    debug.textContent = 'hint: ' + hint.id + ' (' + hint.kind + ', strength ' + hint.strength + ', ' + hint.source + ')\n' +
      'length: ' + hint.chat.length + ', tone: ' + hint.chat.tone + ', handoff: ' + hint.chat.handoff + '\n\n' +
      'directive (' + lang + '):\n' + hint.chat.directive[lang] + '\n\nreasons:\n- ' + (hint.reasons || []).join('\n- ');
    if (hint.chat.opener && openedFor !== hint.id) {
      openedFor = hint.id;
      root.classList.remove('closed');
      say(hint.chat.opener[lang], 'bot');
    }
  }
  function update(list) { hints = Array.isArray(list) ? list : []; render(); }

  QUESTIONS.forEach(function (q) {
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = q[1];
    b.onclick = function () { send(q[1]); };
    root.querySelector('.quick').appendChild(b);
  });
  root.querySelector('header').onclick = function () { root.classList.toggle('closed'); };
  root.querySelector('form').onsubmit = function (e) {
    e.preventDefault();
    var input = e.target.q;
    send(input.value.trim());
    input.value = '';
  };
  root.querySelectorAll('[data-o]').forEach(function (b) {
    b.onclick = function () {
      var hint = top(), r = api();
      if (hint && typeof r.feedback === 'function') r.feedback(hint.id, b.getAttribute('data-o'));
    };
  });
  document.addEventListener('rapport:hint', function (e) { update(e.detail && e.detail.hints); });
  function start() {
    document.body.appendChild(root);
    var r = api();
    if (typeof r.hints === 'function') { try { update(r.hints()); } catch (e) { /* ignore */ } }
  }
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
