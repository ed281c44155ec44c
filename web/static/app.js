// The search page: posts the question to /search and shows the hits, with the question's words highlighted.
// No external resources; all text from the server goes through textContent (never innerHTML).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("search"), q = $("q"), mode = $("mode"), k = $("k"), kb = $("kb");
  const status = $("status"), results = $("results"), go = $("go");

  function setStatus(text, isError) {
    status.textContent = text;
    status.className = isError ? "error" : "";
  }

  // Han, Hiragana, Katakana and Hangul: written without spaces, searched (and highlighted) as character bigrams.
  const CJK = "\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}";
  const isCjk = new RegExp("[" + CJK + "]", "u");
  const WORD_CHAR = "(?:(?![" + CJK + "])[\\p{L}\\p{N}])"; // a letter or digit of an alphabetic script

  // Words of the question (letters and digits, 2+ characters), for highlighting when the server sent no terms.
  function queryWords(text) {
    const words = text.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) || [];
    return Array.from(new Set(words));
  }

  // The start of a word that its inflections share: "infection" -> "infect", so that "infected" is marked too
  // (the server stems with porter).
  function stem(w) {
    const m = w.match(/^(.{4,})(?:ions?|ings?|ed|es|s)$/iu);
    return m ? m[1] : w;
  }

  // Appends text to el with the question's terms wrapped in <mark>: a word of an alphabetic script marks every
  // word that starts with it (or its stem: "rise" marks "rises"), a CJK term (a character bigram) every place it
  // occurs; overlapping places merge into one mark.
  function highlight(el, text, words) {
    const marked = new Uint8Array(text.length);
    const mark = (a, b) => marked.fill(1, a, b);
    const latin = [];
    for (const w of words) {
      if (!w) continue;
      if (!isCjk.test(w)) { latin.push(stem(w).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")); continue; }
      for (let i = text.indexOf(w); i >= 0; i = text.indexOf(w, i + 1)) mark(i, i + w.length);
    }
    if (latin.length) {
      const re = new RegExp("(?<!" + WORD_CHAR + ")(?:" + latin.join("|") + ")" + WORD_CHAR + "*", "giu");
      for (const m of text.matchAll(re)) mark(m.index, m.index + m[0].length);
    }
    for (let i = 0; i < text.length;) {
      let j = i;
      while (j < text.length && marked[j] === marked[i]) j++;
      const part = text.slice(i, j);
      if (marked[i]) {
        const m = document.createElement("mark");
        m.textContent = part;
        el.appendChild(m);
      } else {
        el.appendChild(document.createTextNode(part));
      }
      i = j;
    }
  }

  function render(hits, words) {
    results.replaceChildren();
    for (const h of hits) {
      const li = document.createElement("li");
      li.className = "hit";
      const h2 = document.createElement("h2");
      const title = document.createElement("span");
      title.className = "title";
      title.textContent = h.title || h.id;
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = "score " + Number(h.score).toFixed(4);
      h2.append(title, score);
      const p = document.createElement("p");
      p.className = "text";
      highlight(p, h.text || "", words);
      const id = document.createElement("div");
      id.className = "id";
      id.textContent = "document " + h.id + " · passage " + h.passage;
      li.append(h2, p);
      // Metadata worth a chip: not raw HTML copies (keys ending in _html) and not a value the passage text
      // already shows in full (a FAQ's answer).
      const shown = h.text || "";
      const meta = (h.metadata && typeof h.metadata === "object" ? Object.entries(h.metadata) : [])
        .filter(([key, val]) => !key.endsWith("_html") &&
                                !(typeof val === "string" && val.length > 40 && shown.includes(val.trim())));
      if (meta.length) {
        const ul = document.createElement("ul");
        ul.className = "meta";
        for (const [key, val] of meta) {
          const m = document.createElement("li");
          m.textContent = key + ": " + (typeof val === "string" ? val : JSON.stringify(val));
          ul.appendChild(m);
        }
        li.appendChild(ul);
      }
      li.appendChild(id);
      results.appendChild(li);
    }
    results.dataset.count = String(hits.length);
  }

  async function search() {
    const text = q.value.trim();
    if (!text) { setStatus("Type a question first.", true); return; }
    const body = { query: text, mode: mode.value, k: Number(k.value) || 5 };
    if (kb.value) body.kb = kb.value;
    const params = new URLSearchParams({ q: text, mode: body.mode, k: String(body.k) });
    if (body.kb) params.set("kb", body.kb);
    history.replaceState(null, "", "#" + params.toString());
    go.disabled = true;
    setStatus("Searching…");
    try {
      const res = await fetch("/search", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      const data = await res.json();
      if (!res.ok) throw new Error(data.error ? data.error.message : "HTTP " + res.status);
      // The server's terms: no stopwords, CJK runs as bigrams (what lexical search looked for).
      render(data.hits, Array.isArray(data.terms) ? data.terms : queryWords(text));
      // What was searched, as attributes (form values are properties, invisible in the DOM's markup).
      results.dataset.query = text;
      results.dataset.mode = data.mode;
      results.dataset.k = String(body.k);
      setStatus(data.hits.length + (data.hits.length === 1 ? " result" : " results") + " in " +
                Number(data.took_ms).toFixed(1) + " ms");
    } catch (e) {
      results.replaceChildren();
      results.dataset.count = "0";
      setStatus("Search failed: " + e.message, true);
    } finally {
      go.disabled = false;
    }
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); search(); });

  async function loadKbs() {
    try {
      const res = await fetch("/stats");
      const data = await res.json();
      const kbs = data.kbs || [];
      for (const one of kbs) {
        const o = document.createElement("option");
        o.value = o.textContent = one.name;
        kb.appendChild(o);
      }
      $("kb-label").hidden = kbs.length < 2;
      // A KB without an encoder model serves lexical search only.
      const noModel = (name) => kbs.some((x) => x.name === name && x.model && !x.model.loaded);
      const fitMode = () => {
        const lexicalOnly = noModel(kb.value || (kbs[0] && kbs[0].name));
        for (const o of mode.options) o.disabled = lexicalOnly && o.value !== "lexical";
        if (lexicalOnly) mode.value = "lexical";
      };
      kb.addEventListener("change", fitMode);
      fitMode();
    } catch (e) { /* the selector stays hidden: the default KB is used */ }
  }

  // A link like /#q=question&mode=hybrid&k=10 types the question and submits it on load.
  async function start() {
    await loadKbs();
    const p = new URLSearchParams(location.hash.slice(1) || location.search.slice(1));
    if (p.get("mode")) mode.value = p.get("mode");
    if (p.get("k")) k.value = p.get("k");
    if (p.get("kb")) kb.value = p.get("kb");
    if (p.get("q")) {
      q.value = p.get("q");
      q.dispatchEvent(new Event("input", { bubbles: true }));
      form.requestSubmit(go);
    }
  }
  start();
})();
