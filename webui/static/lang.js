// English if asked (?lang=en, then kept); else Italian.
const lang = new URLSearchParams(location.search).get("lang");
if (lang) localStorage.setItem("autografo.lang", lang);
if ((lang || localStorage.getItem("autografo.lang")) === "en") import("./english.js");
