/**
 * Builds elements from text only: every string lands in textContent or an
 * attribute, never in markup, so nothing a user types can become HTML.
 *
 * @param {string} tag
 * @param {{ className?: string, text?: string, attributes?: Record<string, string> }} [options]
 * @param {Node[]} [children]
 */
export function element(tag, { className, text, attributes = {} } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** @param {Date} date */
export function clock(date) {
  return date.toLocaleTimeString('es', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
