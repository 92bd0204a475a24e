import { describe, it, expect } from 'vitest';
import { batchesCsv, csvField } from '../../src/report/csv.ts';
import { BATCH_FIELDS, type BatchRecord, type RunResults } from '../../src/sim/results.ts';
import { buildFixture } from './fixture.ts';

/** A minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF or LF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

describe('csvField', () => {
  it('quotes only fields with a comma, quote, CR or LF, doubling inner quotes', () => {
    expect(csvField('gpu0')).toBe('gpu0');
    expect(csvField(12345)).toBe('12345');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField(' spaced ')).toBe(' spaced ');
    expect(csvField('')).toBe('');
  });
});

describe('batchesCsv', () => {
  const results = buildFixture();

  it('writes the BATCH_FIELDS header and one row per batch, ending in a newline', () => {
    const csv = batchesCsv(results);
    expect(csv.endsWith('\n')).toBe(true);
    expect(csv.endsWith('\n\n')).toBe(false);
    const lines = csv.split('\n');
    expect(lines[0]).toBe(BATCH_FIELDS.join(','));
    expect(lines[0].startsWith('device,batch,start_time,time,cached_faults,coalesced_faults,duplicate_faults,actual_faults,')).toBe(true);
    expect(lines.length).toBe(results.batches.length + 2); // header + rows + '' after the final LF
    const b = results.batches[3];
    expect(lines[4]).toBe(BATCH_FIELDS.map((f) => String(b[f])).join(','));
  });

  it('round-trips through an RFC 4180 reader, including awkward device names', () => {
    const odd: RunResults = { ...results, batches: results.batches.slice(0, 3).map((b, i) => ({ ...b, device: ['gpu,0', 'the "fast" one', 'multi\nline'][i] })) };
    const rows = parseCsv(batchesCsv(odd));
    expect(rows.length).toBe(4);
    expect(rows[0]).toEqual([...BATCH_FIELDS]);
    rows.slice(1).forEach((r, i) => {
      const b = odd.batches[i];
      expect(r).toEqual(BATCH_FIELDS.map((f) => String(b[f])));
    });
    expect(batchesCsv(odd).split('\n')[1].startsWith('"gpu,0",')).toBe(true);
  });

  it('writes just the header for a run without batches', () => {
    expect(batchesCsv({ ...results, batches: [] })).toBe(BATCH_FIELDS.join(',') + '\n');
  });

  it('is deterministic and has exactly one column per field on every row', () => {
    const a = batchesCsv(results);
    expect(batchesCsv(buildFixture())).toBe(a);
    for (const line of a.trimEnd().split('\n')) expect(line.split(',').length).toBe(BATCH_FIELDS.length);
    const r: BatchRecord = results.batches[0];
    expect(Object.keys(r).sort()).toEqual([...BATCH_FIELDS].sort());
  });
});
