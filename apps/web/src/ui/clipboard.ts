/**
 * Puts text on the clipboard. The async Clipboard API needs a secure context; FixThread served over plain http
 * on a LAN address is not one, so the old `execCommand('copy')` on a hidden field is the fallback there.
 */
export async function copyText(text: string): Promise<void> {
  if (window.isSecureContext && navigator.clipboard?.writeText) {
    try {
      return await navigator.clipboard.writeText(text);
    } catch {
      // Denied (no permission, document not focused): try the fallback.
    }
  }
  const field = document.createElement('textarea');
  field.value = text;
  field.setAttribute('readonly', '');
  field.style.position = 'fixed';
  field.style.opacity = '0';
  const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  document.body.append(field);
  field.select();
  try {
    if (!document.execCommand('copy')) throw new Error('Copying was refused');
  } finally {
    field.remove();
    previous?.focus();
  }
}
