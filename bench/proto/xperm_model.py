#!/usr/bin/env python3
# Model of bench/proto/mixed-xperm.patch (session 39): the code boxes in shared memory (64- and 128-byte swizzles),
# the permuted read (ds_conv_frag, rows sigma(g)) and x stored at ds_kperm: each accumulator row must equal its weight
# row's dot product with x, and each quarter warp's 16-byte loads must touch distinct banks. Prints ok / conflict-free.
import random, struct
def kperm(k): return (k & ~63) | (16*((k>>2)&3) + 2*((k>>4)&3) + (k&1) + 8*((k>>1)&1))
assert sorted(kperm(k) for k in range(128)) == list(range(128))
for QW, BK in ((128,128),(128,256),(64,64)):
    ROWS=128; QBOX=ROWS*QW
    nbox = BK*1//QW
    codes = [[random.randrange(256) for _ in range(BK)] for _ in range(ROWS)]
    sm = bytearray(nbox*QBOX)
    for b in range(nbox):
        for r in range(ROWS):
            for j in range(QW//16):
                if QW == 128: phys = j ^ (r & 7)
                else: phys = j ^ ((r >> 1) & 3)
                for e in range(16):
                    sm[b*QBOX + r*QW + (phys<<4) + e] = codes[r][b*QW + j*16 + e]
    x = [random.random() for _ in range(BK)]
    xs = [0]*BK
    for k in range(BK): xs[kperm(k)] = x[k]
    for cw in range(2):
      for w4 in range(4):
        acc = {}
        for g in range(8):
          for c in range(4):
            gr = ((g&1)<<2)|(g>>1) if QW==128 else g
            qf = (cw*64 + w4*16 + gr)*QW
            qk = c ^ (gr if QW==128 else (gr>>1)&3)
            for hf in range(BK//64):
              for h in range(2):
                off = (hf*4//(QW//16))*QBOX + qf + h*8*QW + ((((hf*4)%(QW//16)) ^ qk) << 4)
                assert off % 16 == 0
                for kk in range(4):
                  w = sm[off+4*kk:off+4*kk+4]
                  # fragment positions (step kk): 2c,2c+1 <- bytes 0,1 ; 2c+8,2c+9 <- bytes 2,3
                  for pos, byte in ((2*c,0),(2*c+1,1),(2*c+8,2),(2*c+9,3)):
                    row = g + 8*h   # accumulator row
                    acc[row] = acc.get(row,0) + (w[byte]) * xs[hf*64 + 16*kk + pos]
        for g in range(8):
          for h in range(2):
            gr = ((g&1)<<2)|(g>>1) if QW==128 else g
            wrow = cw*64 + w4*16 + gr + 8*h
            ref = sum(codes[wrow][k]*x[k] for k in range(BK))
            assert abs(acc[g+8*h]-ref) < 1e-6*abs(ref)+1e-9, (QW,BK,cw,w4,g,h)
    print("ok", QW, BK)
# bank conflicts: quarter warps of an LDS.128
for QW in (128,64):
  for hf in range(2 if QW==128 else 1):
    for q in range(4):
      banks=set(); 
      for lane in range(8*q, 8*q+8):
        g, c = lane>>2, lane&3
        gr = ((g&1)<<2)|(g>>1) if QW==128 else g
        qk = c ^ (gr if QW==128 else (gr>>1)&3)
        off = gr*QW + ((((hf*4)%(QW//16)) ^ qk) << 4)
        b = (off % 128)//4
        for e in range(4): 
            assert b+e not in banks, (QW,hf,q,lane); banks.add(b+e)
    print("conflict-free", QW, hf)
# f16 trick
