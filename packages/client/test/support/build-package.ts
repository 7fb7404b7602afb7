import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Every suite reads dist/ as it is built now; building once here keeps two suites from writing it at once. */
export default function buildPackage(): void {
  execFileSync(process.execPath, ['build.mjs'], { cwd: join(import.meta.dirname, '..', '..'), stdio: 'inherit' });
}
