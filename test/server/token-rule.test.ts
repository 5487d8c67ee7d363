import { describe, expect, it } from 'vitest';
import { TokenAuth } from '../../src/server/auth.js';
import { tokenAdvice, tokenProblem } from '../../src/server/token-rule.js';

describe('dashboard token rule', () => {
  it('refuses white space anywhere, saying where: a space at either end cannot be sent as Authorization: Bearer', () => {
    expect(tokenProblem('        ')).toMatch(/^is only white space; make one with: openssl rand -hex 16/);
    expect(tokenProblem(' 5f0c2a91e3d47b68')).toMatch(/^starts with a space, which Authorization: Bearer cannot carry/);
    expect(tokenProblem('5f0c2a91e3d47b68 ')).toMatch(/^ends with a space, which Authorization: Bearer cannot carry/);
    expect(tokenProblem('5f0c2a91 e3d47b68')).toMatch(/^contains a space/);
    expect(tokenProblem('5f0c2a91e3d47b68\n')).toMatch(/^ends with a line end/);
    expect(tokenProblem('5f0c2a91e3d47b68\r')).toMatch(/^ends with a carriage return \(a Windows line end\?\)/);
    expect(tokenProblem('5f0c2a91\te3d47b68')).toMatch(/^contains a tab/);
  });

  it('refuses characters a header cannot carry as they are: control characters and anything beyond ASCII', () => {
    expect(tokenProblem('5f0c2a91\u0007e3d47b68')).toMatch(/^contains a control character \(U\+0007\)/);
    expect(tokenProblem('mot-de-passé-1234')).toMatch(/^contains 'é', which is not ASCII/);
  });

  it('refuses short tokens and patterns, saying how to make one', () => {
    expect(tokenProblem('Gq7-x2L')).toMatch(/^too short: 7 characters, at least 8 needed \(16 or more advised\); make one with: openssl rand -hex 16/);
    expect(tokenProblem('')).toMatch(/^too short: 0 characters/);
    for (const t of ['aaaaaaaa', 'abababababababab', 'abcdabcdabcdabcd']) expect(tokenProblem(t), t).toMatch(/^too easy to guess: only \d different characters?; make one with/);
    for (const t of ['12345678', 'abcdefghijklmnop', '87654321']) expect(tokenProblem(t), t).toMatch(/^too easy to guess: a run of consecutive characters/);
  });

  it('takes printable ASCII tokens: 8 to 15 characters with advice, 16 or more without', () => {
    for (const t of ['Gq7-x2Lp', 's3cret&Token/+=', '5f0c2a91e3d47b68', 'open-sesame-42', 'c0ffee-token-42']) expect(tokenProblem(t), t).toBeNull();
    expect(tokenAdvice('Gq7-x2Lp')).toMatch(/^a token of 8 characters is easier to guess than one of 16 or more; make one with: openssl rand -hex 16/);
    expect(tokenAdvice('5f0c2a91e3d47b68')).toBeNull();
  });

  it('is the server\'s rule too, for callers other than run', () => {
    expect(() => new TokenAuth(' padded-token-1234')).toThrow(/^dashboard token: starts with a space/);
    expect(new TokenAuth(undefined).enabled).toBe(false);
  });
});
