#!/usr/bin/env python3
"""The comparison client for bench/serve_bench.py: the same closed-loop streaming load as
`ostel serve --concurrency C`, written the way vLLM's benchmark client reads SSE
(vllm/benchmarks/lib/endpoint_request_func.py, async_request_openai_completions): one
aiohttp.ClientSession, an asyncio semaphore for the concurrency, `async for chunk_bytes in
response.content`, strip, drop the "data: " prefix, json.loads each chunk, time.perf_counter() per
chunk. It writes each token chunk's arrival (CLOCK_MONOTONIC ns, like ostel's tokens.csv) and text.

    serve_client.py URL CONCURRENCY REQUESTS OUTPUT_TOKENS TOKENS_CSV
"""
import asyncio
import csv
import json
import sys
import time

import aiohttp


async def one(session, url, req_id, out_tokens, rows):
    payload = {
        "model": "ostel",
        "prompt": [100 + req_id % 5000, 7, 8, 9, 10, 11, 12, 13],
        "max_tokens": out_tokens,
        "stream": True,
        "ignore_eos": True,
        "temperature": 0,
        "stream_options": {"include_usage": True},
    }
    index = 0
    async with session.post(url, json=payload) as response:
        if response.status != 200:
            return False
        async for chunk_bytes in response.content:
            chunk_bytes = chunk_bytes.strip()
            if not chunk_bytes:
                continue
            chunk = chunk_bytes.decode("utf-8").removeprefix("data: ")
            if chunk == "[DONE]":
                continue
            now = time.monotonic_ns()  # vLLM: time.perf_counter(), the same clock on Linux
            data = json.loads(chunk)
            choices = data.get("choices")
            if choices and choices[0].get("text") and choices[0].get("finish_reason") is None:
                rows.append((req_id, index, now, choices[0]["text"]))
                index += 1
    return True


async def main():
    url, path = sys.argv[1], sys.argv[5]
    conc, n, out_tokens = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rows = []
    sem = asyncio.Semaphore(conc)
    timeout = aiohttp.ClientTimeout(total=6 * 60 * 60)
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector,
                                     read_bufsize=10 * 1024 ** 2) as session:
        async def limited(i):
            async with sem:
                return await one(session, url + "/v1/completions", i, out_tokens, rows)
        ok = await asyncio.gather(*(limited(i) for i in range(n)))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["req_id", "index", "arrival_mono_ns", "text"])
        w.writerows(rows)
    print(f"python client: {sum(ok)} of {n} requests ok, {len(rows)} tokens", file=sys.stderr)


asyncio.run(main())
