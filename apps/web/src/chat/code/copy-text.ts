/**
 * Puts text on the clipboard. The Clipboard API needs a secure context (https, or localhost); served over
 * plain http (a LAN address) it is missing, and the old `execCommand('copy')` on a hidden field still works.
 * Rejects when neither could copy.
 */
export async function copyText(text: string): Promise<void> {
  if (window.isSecureContext && navigator.clipboard?.writeText) {
    return navigator.clipboard.writeText(text);
  }
  const field = document.createElement('textarea');
  field.value = text;
  field.setAttribute('readonly', '');
  // Off-screen but rendered: selection needs a laid-out element. Fixed, so the page doesn't scroll to it.
  field.style.position = 'fixed';
  field.style.top = '0';
  field.style.left = '-9999px';
  const focused = document.activeElement;
  document.body.append(field);
  try {
    field.select();
    // Deprecated, but the only way without the Clipboard API.
    if (!document.execCommand('copy')) throw new Error('Copying is not supported here');
  } finally {
    field.remove();
    if (focused instanceof HTMLElement) focused.focus();
  }
}
