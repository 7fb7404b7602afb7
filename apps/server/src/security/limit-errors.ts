/** Requests refused for their size or for what one connection holds; errors.ts maps them to HTTP and tRPC. */

export class UrlTooLong extends Error {
  constructor(readonly maxUrlBytes: number) {
    super(`Request URL is longer than ${maxUrlBytes} bytes`);
    this.name = 'UrlTooLong';
  }
}

export class HeadersTooLarge extends Error {
  constructor(readonly maxHeaderBytes: number) {
    super(`Request headers are larger than ${maxHeaderBytes} bytes`);
    this.name = 'HeadersTooLarge';
  }
}

export class TooManySubscriptions extends Error {
  constructor(readonly maxSubscriptions: number) {
    super(`This connection already has ${maxSubscriptions} subscriptions open; wait for one to finish or stop one`);
    this.name = 'TooManySubscriptions';
  }
}
