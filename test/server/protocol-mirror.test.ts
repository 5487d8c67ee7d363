import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The dashboard page compiles on its own (no bundler, nothing outside web/src), so its protocol
 * types mirror the server's; protocol-mirror.check.ts states that each mirror is the very same type.
 * This test type-checks that file, and checks that the check bites: a copy of either side with one
 * field changed must fail to compile.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const checkFile = path.join(repoRoot, 'test', 'server', 'protocol-mirror.check.ts');
const webProtocol = path.join(repoRoot, 'web', 'src', 'protocol.ts');
const feed = path.join(repoRoot, 'src', 'core', 'feed.ts');

const parsed = ts.getParsedCommandLineOfConfigFile(path.join(repoRoot, 'tsconfig.test.json'), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
});
const options: ts.CompilerOptions = { ...parsed!.options, noEmit: true };

/** Type errors as "file:line: message | source line", with some files' text replaced (path → text). */
function typeErrors(replaced: Record<string, string> = {}): string[] {
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, onError, shouldCreate) => {
    const text = replaced[path.resolve(fileName)];
    return text === undefined ? read(fileName, language, onError, shouldCreate) : ts.createSourceFile(fileName, text, language);
  };
  const program = ts.createProgram([checkFile], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (!d.file) return message;
    const line = d.file.getLineAndCharacterOfPosition(d.start ?? 0).line;
    return `${path.relative(repoRoot, d.file.fileName)}:${line + 1}: ${message} | ${d.file.text.split('\n')[line].trim()}`;
  });
}

/** The file's text with one exact piece replaced (which must be there, so the test cannot go stale silently). */
function edited(file: string, from: string, to: string): Record<string, string> {
  const text = readFileSync(file, 'utf8');
  expect(text.split(from).length - 1, `${path.relative(repoRoot, file)} contains "${from}" once`).toBe(1);
  return { [file]: text.replace(from, to) };
}

describe('the dashboard page mirrors the server protocol types exactly', () => {
  it('type-checks: every mirrored type is the same as the server’s', () => {
    expect(typeErrors()).toEqual([]);
  });

  it.each([
    ['a field made optional in the page', webProtocol, 'sentAt: number;', 'sentAt?: number;', 'FrameHeader'],
    ['a field the page lacks', webProtocol, '  watchdogMs?: number;\n', '', 'SourceInfo'],
    ['an error code the page does not know', webProtocol, " | 'rate-limited';", ';', 'ErrorCode'],
    ['a client message field retyped', webProtocol, "{ type: 'ping'; t: number }", "{ type: 'ping'; t: string }", 'ClientMessage'],
    ['a field the server adds', feed, '  lastError?: string;\n', '  lastError?: string;\n  note?: string;\n', 'SourceInfo'],
  ])('fails on drift: %s', (_what, file, from, to, drifted) => {
    const errors = typeErrors(edited(file, from, to));
    expect(errors.length, 'type errors').toBeGreaterThan(0);
    for (const e of errors) expect(e).toMatch(/^test\/server\/protocol-mirror\.check\.ts:\d+: Type 'false' does not satisfy the constraint 'true'\. \| \w+: Expect</);
    expect(errors.some((e) => e.includes(`| ${drifted}: Expect<`)), errors.join('\n')).toBe(true);
  });
});
