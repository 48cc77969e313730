// A tiny element builder: h("button", {class: "btn", onclick}, "Hold"). Text is always text, never HTML.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

export function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== String(value)) {
    el.setAttribute(name, String(value));
  }
}

export function show(el, visible) {
  if (el.hidden === visible) el.hidden = !visible;
}

// Keep `container`'s children in the order of `keys`, building missing ones with `create(key)`
// and removing the rest; existing elements (and the focus inside them) are kept.
export function reconcile(container, keys, attr, create) {
  const existing = new Map();
  for (const child of container.children) {
    if (child.dataset[attr] !== undefined) existing.set(child.dataset[attr], child);
  }
  const wanted = keys.map(String);
  let cursor = container.firstElementChild;
  const result = [];
  for (const key of wanted) {
    let el = existing.get(key);
    existing.delete(key);
    if (!el) {
      el = create(key);
      el.dataset[attr] = key;
    }
    if (el !== cursor) container.insertBefore(el, cursor);
    else cursor = cursor.nextElementSibling;
    result.push(el);
  }
  for (const el of existing.values()) el.remove();
  return result;
}
