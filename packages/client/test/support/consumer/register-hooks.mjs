import { register } from 'node:module';
import process from 'node:process';

register('./hooks.mjs', import.meta.url, { data: { log: process.env.RESOLVE_LOG } });
