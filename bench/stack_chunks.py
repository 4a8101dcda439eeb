#!/usr/bin/env python3
"""How much heap the parked virtual threads' stacks take: the StackChunk objects of a heap dump.

    jcmd PID GC.heap_dump /tmp/pgloom.hprof
    bench/stack_chunks.py /tmp/pgloom.hprof

A parked virtual thread keeps its frames in jdk.internal.vm.StackChunk objects on the heap; with
10,000 idle clients they are the largest item of pgloom's heap. Prints the number of chunks, their
capacity (the `size` field, in 8-byte words) and the part in use (`size - sp`), each as a
histogram in buckets of 25 words. Capacity above use is room a chunk was allocated with for a
deeper stack than the one it holds now. Reads HPROF 1.0.2 as HotSpot writes it; standard library
only.
"""
import collections
import struct
import sys

TYPE_SIZES = {4: 1, 5: 2, 6: 4, 7: 8, 8: 1, 9: 2, 10: 4, 11: 8}  # boolean char float double byte short int long


def read_chunks(path):
    data = open(path, 'rb').read()
    i = data.index(b'\0') + 1
    idsz = struct.unpack('>I', data[i:i + 4])[0]
    i += 12  # identifier size, then the dump's timestamp
    sizes = dict(TYPE_SIZES)
    sizes[2] = idsz  # object reference

    def ident(p):
        return int.from_bytes(data[p:p + idsz], 'big')

    def u4(p):
        return struct.unpack('>I', data[p:p + 4])[0]

    strings, class_names, class_fields, chunks = {}, {}, {}, []
    while i < len(data):
        tag, length = data[i], u4(i + 5)
        body, end = i + 9, i + 9 + length
        i = end
        if tag == 0x01:  # UTF8
            strings[ident(body)] = data[body + idsz:end].decode('utf-8', 'replace')
        elif tag == 0x02:  # LOAD CLASS
            class_names[ident(body + 4)] = strings.get(ident(body + 8 + idsz), '?')
        elif tag in (0x0C, 0x1C):  # HEAP DUMP (SEGMENT)
            p = body
            while p < end:
                sub = data[p]
                p += 1
                if sub == 0xFF:
                    p += idsz
                elif sub == 0x01:
                    p += 2 * idsz
                elif sub in (0x02, 0x03, 0x08):
                    p += idsz + 8
                elif sub in (0x04, 0x06):
                    p += idsz + 4
                elif sub in (0x05, 0x07):
                    p += idsz
                elif sub == 0x20:  # CLASS DUMP
                    cid = ident(p)
                    p += 4 + 7 * idsz + 4
                    count, p = struct.unpack('>H', data[p:p + 2])[0], p + 2
                    for _ in range(count):  # constant pool: index, type, value
                        p += 3 + sizes[data[p + 2]]
                    count, p = struct.unpack('>H', data[p:p + 2])[0], p + 2
                    for _ in range(count):  # static fields: name, type, value
                        p += idsz + 1 + sizes[data[p + idsz]]
                    count, p = struct.unpack('>H', data[p:p + 2])[0], p + 2
                    fields = []
                    for _ in range(count):  # instance fields: name, type
                        fields.append((strings.get(ident(p), '?'), data[p + idsz]))
                        p += idsz + 1
                    class_fields[cid] = fields
                elif sub == 0x21:  # INSTANCE DUMP
                    cid, n = ident(p + 4 + idsz), u4(p + 4 + 2 * idsz)
                    q = p + 8 + 2 * idsz
                    if class_names.get(cid) == 'jdk/internal/vm/StackChunk':
                        values, r = {}, q
                        for name, t in class_fields[cid]:
                            values[name] = int.from_bytes(data[r:r + sizes[t]], 'big', signed=True)
                            r += sizes[t]
                        chunks.append((values['size'], values['sp']))
                    p = q + n
                elif sub == 0x22:  # OBJECT ARRAY
                    p += 8 + 2 * idsz + u4(p + 4 + idsz) * idsz
                elif sub == 0x23:  # PRIMITIVE ARRAY
                    p += 9 + idsz + u4(p + 4 + idsz) * sizes[data[p + 8 + idsz]]
                else:
                    raise SystemExit('unknown heap dump record 0x%x' % sub)
    return chunks


def histogram(values):
    buckets = collections.Counter(v // 25 * 25 for v in values)
    return ' '.join('%d:%d' % kv for kv in sorted(buckets.items()))


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    chunks = read_chunks(sys.argv[1])
    capacity = sum(size for size, _ in chunks)
    used = sum(size - sp for size, sp in chunks)
    print('chunks %d: capacity %d words (%.1f MiB), in use %d words (%.1f MiB)'
          % (len(chunks), capacity, capacity * 8 / 2**20, used, used * 8 / 2**20))
    print('capacity, words (bucket:count):', histogram([size for size, _ in chunks]))
    print('in use, words (bucket:count):  ', histogram([size - sp for size, sp in chunks]))


if __name__ == '__main__':
    main()
