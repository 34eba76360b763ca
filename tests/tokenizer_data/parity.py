"""What the parity tests compare, computed the same way for every backend (stdlib only: the browser test
sends this file's source into Pyodide and runs it there on the corpus).

`outputs(tok, texts, max_length)` encodes every text four ways - single untruncated, single truncated to
the max length, batches padded to their longest row, batches padded to max_length - and decodes the
untruncated ids with and without special tokens. `differences(ref, got, texts)` names each string where
two such results differ.
"""
BATCH = 64


def outputs(tok, texts: list, max_length: int) -> dict:
    out = {"ids": [], "types": [], "mask": [], "trunc_ids": [], "trunc_types": [], "decode": [], "decode_all": [],
           "batch_ids": [], "batch_types": [], "batch_mask": [], "fixed_ids": [], "fixed_mask": []}
    for t in texts:
        e = tok.encode(t, truncation=False)
        out["ids"].append(e.ids)
        out["types"].append(e.token_type_ids)
        out["mask"].append(e.attention_mask)
        out["decode"].append(tok.decode(e.ids))
        out["decode_all"].append(tok.decode(e.ids, skip_special_tokens=False))
        e = tok.encode(t, max_length=max_length)
        out["trunc_ids"].append(e.ids)
        out["trunc_types"].append(e.token_type_ids)
    for start in range(0, len(texts), BATCH):
        chunk = texts[start:start + BATCH]
        b = tok.encode_batch(chunk, max_length=max_length)
        out["batch_ids"].extend(b.ids)
        out["batch_types"].extend(b.token_type_ids)
        out["batch_mask"].extend(b.attention_mask)
        b = tok.encode_batch(chunk, max_length=max_length, padding="max_length")
        out["fixed_ids"].extend(b.ids)
        out["fixed_mask"].extend(b.attention_mask)
    return out


def differences(ref: dict, got: dict, texts: list, limit: int = 20) -> list:
    """One line per (string, field) that differs, naming the string; at most `limit` lines plus a count."""
    lines, total = [], 0
    for key in ref:
        if len(ref[key]) != len(got.get(key, [])):
            lines.append(f"{key}: {len(got.get(key, []))} results for {len(ref[key])} texts")
            total += 1
            continue
        for i, (a, b) in enumerate(zip(ref[key], got[key])):
            if a != b:
                total += 1
                if len(lines) < limit:
                    r = repr(texts[i])
                    lines.append(f"{key} differs for text {i} {r[:70] + ('...' if len(r) > 70 else '')} "
                                 f"(len {len(texts[i])}): rust {str(a)[:80]} vs {str(b)[:80]}")
    if total > len(lines):
        lines.append(f"... {total} differences in all")
    return lines


def pack(out: dict) -> dict:
    """Shrink outputs for the trip out of the browser: each list of int lists becomes zlib-compressed
    (row lengths, values) arrays of the narrowest type; string lists stay as they are."""
    import zlib
    from array import array

    packed = {}
    for key, rows in out.items():
        if rows and isinstance(rows[0], str):
            packed[key] = rows
            continue
        flat = [v for row in rows for v in row]
        code = "B" if max(flat, default=0) < 256 else "H" if max(flat) < 65536 else "I"
        packed[key] = (code, zlib.compress(array("I", map(len, rows)).tobytes(), 1),
                       zlib.compress(array(code, flat).tobytes(), 1))
    return packed


def unpack(packed: dict) -> dict:
    import zlib
    from array import array

    out = {}
    for key, value in packed.items():
        if isinstance(value, list):
            out[key] = value
            continue
        code, lengths, flat = value
        lens, vals = array("I"), array(code)
        lens.frombytes(zlib.decompress(lengths))
        vals.frombytes(zlib.decompress(flat))
        rows, pos = [], 0
        for n in lens:
            rows.append(vals[pos:pos + n].tolist())
            pos += n
        out[key] = rows
    return out
