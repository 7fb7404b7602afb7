import type { UploadedAttachment } from '@fixthread/core';

export type PresentedUpload = UploadedAttachment & { url: string; thumbnail_url: string };

/** What an upload answers, over REST and tRPC alike: the stored photo, and where its owner can fetch it. */
export function presentUpload(uploaded: UploadedAttachment): PresentedUpload {
  const url = `/chat/attachments/${uploaded.id}`;
  return { ...uploaded, url, thumbnail_url: `${url}/thumbnail` };
}
