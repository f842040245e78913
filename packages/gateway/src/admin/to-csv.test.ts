import { describe, expect, it } from 'vitest';
import { toCsv } from './to-csv.js';

describe('toCsv', () => {
  it('ends every row with CRLF and leaves plain fields bare', () => {
    expect(
      toCsv([
        ['model', 'requests'],
        ['gpt-4o', 12],
      ]),
    ).toBe('model,requests\r\ngpt-4o,12\r\n');
    expect(toCsv([])).toBe('');
  });

  it('quotes fields holding a comma, a quote or a line break, doubling quotes', () => {
    expect(toCsv([['a,b', 'say "hi"', 'two\nlines', 'cr\rhere']])).toBe(
      '"a,b","say ""hi""","two\nlines","cr\rhere"\r\n',
    );
  });

  it('defuses text a spreadsheet would run as a formula, but not numbers', () => {
    expect(toCsv([['=1+1', '+A1', '-2', '@SUM(A1)', '\tx', 'a=b']])).toBe(
      "'=1+1,'+A1,'-2,'@SUM(A1),'\tx,a=b\r\n",
    );
    expect(toCsv([[-5, 0, 1.5]])).toBe('-5,0,1.5\r\n');
    // Defused and quoted: the apostrophe goes inside the quotes.
    expect(toCsv([['=HYPERLINK("http://x","y")']])).toBe('"\'=HYPERLINK(""http://x"",""y"")"\r\n');
  });

  it('writes null and undefined as empty fields', () => {
    expect(toCsv([[null, undefined, 'x']])).toBe(',,x\r\n');
  });
});
