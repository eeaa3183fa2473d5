// Progressive enhancement only: the simulator works without it. While answers are still
// queued, refresh the chat every second and a half so they appear as the bot sends them.
(function () {
  "use strict";
  var chat = document.getElementById("chat");
  if (!chat || !window.fetch) { return; }
  var rounds = 0;
  function pending() { return chat.querySelector(".pending") !== null; }
  function tick() {
    rounds += 1;
    if (rounds > 40 || (!pending() && rounds > 4)) { return; }
    fetch(chat.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) { chat.innerHTML = html; }
        window.setTimeout(tick, 1500);
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }
  window.setTimeout(tick, 1000);
  chat.scrollTop = chat.scrollHeight;
})();
