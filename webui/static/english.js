// The page in English, loaded only when chosen (lang.js). The page's code
// and the agent's messages stay Italian; their text is rewritten as it
// reaches the screen by the ordered rules of en.json, each a regular
// expression and its replacement. Elements marked translate="no" (names,
// files, codes) are left as they are.
const { rules } = await (await fetch(new URL("en.json", import.meta.url))).json();
const compiled = rules.map(([re, to]) => [new RegExp(re, "g"), to]);

// translate rewrites a text; the rules see it without the white space
// around it, which the markup's layout puts there.
export function translate(text) {
	const [, before, core, after] = text.match(/^(\s*)([\s\S]*?)(\s*)$/);
	let t = core;
	for (const [re, to] of compiled) t = t.replace(re, to);
	return before + t + after;
}

const ATTRS = ["aria-label", "title", "placeholder", "alt"];
const skip = (e) => !e || e.closest("[translate=no], script, style");

function fixAttrs(e) {
	for (const a of ATTRS) {
		const v = e.getAttribute(a);
		const t = v && translate(v);
		if (t && t !== v) e.setAttribute(a, t);
	}
}

function fix(node) {
	if (node.nodeType === Node.TEXT_NODE) {
		if (skip(node.parentElement)) return;
		const t = translate(node.data);
		if (t !== node.data) node.data = t;
	} else if (node.nodeType === Node.ELEMENT_NODE && !skip(node)) {
		fixAttrs(node);
		node.childNodes.forEach(fix);
	}
}

document.documentElement.lang = "en";
document.title = translate(document.title);
fix(document.body);
// Each translation is a mutation too; translating English again changes
// nothing, so the observer settles.
new MutationObserver((changes) => {
	for (const c of changes) {
		if (c.type === "characterData") fix(c.target);
		else if (c.type === "attributes") skip(c.target) || fixAttrs(c.target);
		else c.addedNodes.forEach(fix);
	}
}).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ATTRS });

const ask = { confirm: window.confirm, prompt: window.prompt };
window.confirm = (m) => ask.confirm.call(window, translate(String(m)));
window.prompt = (m, d) => ask.prompt.call(window, translate(String(m)), d);

const other = document.querySelector("#lang");
Object.assign(other, { textContent: "Italiano", href: "?lang=it", lang: "it", hreflang: "it" });
