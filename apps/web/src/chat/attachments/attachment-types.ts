import type { HistoryMessage } from '../../api-types';

/** A photo of a stored question as the history has it (no bytes: see useAttachmentImage). */
export type MessageAttachment = HistoryMessage['attachments'][number];
