import struct
def s(x): b=x.encode(); return struct.pack('<Q',len(b))+b
def kv(k,t,v): return s(k)+struct.pack('<I',t)+v
def arr(k,t,items): return s(k)+struct.pack('<IIQ',9,t,len(items))+b''.join(items)
def tensor(name,dims,t,off): return s(name)+struct.pack('<I',len(dims))+b''.join(struct.pack('<Q',d) for d in dims)+struct.pack('<IQ',t,off)
def gguf(kvs,tensors,data,ver=3,align=32):
    h=b'GGUF'+struct.pack('<IQQ',ver,len(tensors),len(kvs))+b''.join(kvs)+b''.join(tensors)
    if tensors: h+=b'\0'*((-len(h))%align)
    return h+data
kvs=[kv('general.architecture',8,s('llama')),kv('general.name',8,s('fuzz')),
     kv('llama.block_count',4,struct.pack('<I',2)),kv('llama.embedding_length',4,struct.pack('<I',64)),
     kv('llama.context_length',4,struct.pack('<I',256)),kv('llama.attention.head_count',4,struct.pack('<I',4)),
     arr('llama.attention.head_count_kv',5,[struct.pack('<i',2),struct.pack('<i',1)]),
     kv('llama.rope.freq_base',6,struct.pack('<f',10000)),kv('general.file_type',4,struct.pack('<I',7)),
     kv('t.u8',0,b'\x01'),kv('t.i8',1,b'\xff'),kv('t.u16',2,b'\x01\x00'),kv('t.i16',3,b'\xff\xff'),
     kv('t.bool',7,b'\x01'),kv('t.u64',10,struct.pack('<Q',5)),kv('t.i64',11,struct.pack('<q',-5)),
     kv('t.f64',12,struct.pack('<d',1.5)),
     arr('tokenizer.ggml.tokens',8,[s('a'),s('b'),s('<s>')]),arr('t.f32s',6,[struct.pack('<f',1.0)]*3)]
ts=[tensor('token_embd.weight',[64,3],1,0),tensor('blk.0.attn_q.weight',[64,2],8,384),tensor('output_norm.weight',[64],0,384+160)]
data=b'\0'*(384+160+256)
files={
 'valid_v3.gguf':gguf(kvs,ts,data),
 'valid_v2.gguf':gguf(kvs,ts,data,ver=2),
 'vocab_only.gguf':gguf(kvs,[],b''),
 'unknown_type.gguf':gguf(kvs[:3],[tensor('x',[64],99,0)],b'\0'*64),
 'truncated_header.gguf':gguf(kvs,ts,data)[:300],
 'truncated_data.gguf':gguf(kvs,ts,data)[:-100],
 'huge_kv_count.gguf':b'GGUF'+struct.pack('<IQQ',3,0,1<<60),
 'huge_string.gguf':b'GGUF'+struct.pack('<IQQ',3,0,1)+struct.pack('<Q',1<<62)+b'abc',
 'huge_array.gguf':b'GGUF'+struct.pack('<IQQ',3,0,1)+s('a')+struct.pack('<IIQ',9,8,1<<61),
 'bad_dims.gguf':gguf(kvs[:2],[tensor('x',[1<<40,1<<40,1<<40],0,0)],b''),
 'bad_alignment.gguf':gguf([kv('general.alignment',4,struct.pack('<I',3))],[],b''),
 'bad_offset.gguf':gguf(kvs[:2],[tensor('a',[32],0,0),tensor('b',[32],0,64)],b'\0'*256),
 'dup_key.gguf':gguf([kvs[0],kvs[0]],[],b''),
 'v1.gguf':gguf(kvs[:2],[],b'',ver=1),
 'empty.gguf':b'',
}
# vocabularies for llama/vocab.c: byte-level BPE and SentencePiece, every token type, bad token_type arrays
def i32s(v): return [struct.pack('<i',x) for x in v]
bpe_toks=[s(t) for t in ['a','\u0120the','\u00c3','\u00c3\u00a9','\u00e4\u00b8','\u0142','\u20ac','<0x41>','<0xE4>','<0xZZ>','<|x|>','']]
bpe_toks.append(struct.pack('<Q',2)+b'\xff\xfe')
bpe_types=[1,1,1,1,1,1,1,6,6,6,3,4,1]
spm_toks=[s(t) for t in ['<unk>','<s>','<0x41>','<0x80>','<0xff>','\u2581the','<0x80>']]
spm_types=[2,3,6,6,6,1,1]
def vocab(model,toks,types,elem=5,n_types=None,pre=None):
    kvs=[kv('tokenizer.ggml.model',8,s(model)),arr('tokenizer.ggml.tokens',8,toks)]
    if pre: kvs.append(kv('tokenizer.ggml.pre',8,s(pre)))
    if types is not None:
        t=i32s(types)[:n_types] if n_types is not None else i32s(types)
        kvs.append(arr('tokenizer.ggml.token_type',elem,t))
    return gguf(kvs,[],b'')
files.update({
 'vocab_bpe.gguf':vocab('gpt2',bpe_toks,bpe_types),
 'vocab_bpe_untyped.gguf':vocab('gpt2',bpe_toks,None),
 'vocab_bpe_gemma4.gguf':vocab('gpt2',bpe_toks,bpe_types,pre='gemma4'),
 'vocab_spm.gguf':vocab('llama',spm_toks,spm_types),
 'vocab_short_types.gguf':vocab('gpt2',bpe_toks,bpe_types,n_types=3),
 'vocab_float_types.gguf':vocab('llama',spm_toks,spm_types,elem=6),
 'vocab_bert.gguf':vocab('bert',spm_toks,None),
 'vocab_no_tokens.gguf':gguf([kv('tokenizer.ggml.model',8,s('gpt2'))],[],b''),
})
# written as .bin: the repository ignores *.gguf
for n,b in files.items():
    assert len(b)<65536
    open(n.replace('.gguf','.bin'),'wb').write(b)
