// One-key shortcuts for a page's main actions, listed in a dialog that `?` (or its button) opens.
// A key never acts while the person types in a field, nor with Ctrl, Alt or Meta held (the
// browser's and the screen reader's own keys stay theirs).

const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);

function typing(el) {
  return Boolean(el && (el.isContentEditable || TYPING.has(el.tagName)));
}

/** `keys`: {"d": () => …, "1": () => …}; `dialog` the <dialog> listing them. */
export function startShortcuts(keys, { dialog, openButton, closeButton }) {
  let opener = null;
  const open = () => {
    if (dialog.open) return;
    opener = document.activeElement;
    dialog.showModal();
    closeButton.focus();
  };
  openButton.addEventListener("click", open);
  closeButton.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    if (opener && opener.isConnected) opener.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (typing(event.target) || dialog.open) return;
    if (event.key === "?") {
      event.preventDefault();
      open();
      return;
    }
    const action = keys[event.key.length === 1 ? event.key.toLowerCase() : ""];
    if (!action || event.repeat) return;
    event.preventDefault();
    action();
  });
}
