"""The official Python `openai` package against a Switchyard front door (test/frontdoor/python.test.ts).

Usage: python_client.py BASE_URL KEY MARKER — prints one JSON object with what the SDK saw:
a JSON answer (with the Switchyard headers), a streamed answer with usage, and an error.
"""
import json
import sys

import openai

base_url, key, marker = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0)
messages = [{"role": "user", "content": f"Once upon a time [{marker}]"}]
out = {}

raw = client.chat.completions.with_raw_response.create(model="long", messages=messages)
answer = raw.parse()
out["json"] = {
    "model": answer.model,
    "content": answer.choices[0].message.content,
    "finish_reason": answer.choices[0].finish_reason,
    "usage": answer.usage.model_dump(),
    "request_id": raw.headers.get("x-switchyard-request-id"),
    "execution": raw.headers.get("x-switchyard-execution"),
}

text, pieces, usage = "", 0, None
stream = client.chat.completions.create(
    model="long", messages=messages, stream=True, stream_options={"include_usage": True}
)
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage.model_dump()
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
        pieces += 1
out["stream"] = {"content": text, "pieces": pieces, "usage": usage}

try:
    client.chat.completions.create(model="poetry", messages=messages)
    out["error"] = None
except openai.NotFoundError as err:
    out["error"] = {"class": type(err).__name__, "status": err.status_code, "code": err.code, "param": err.param}

print(json.dumps(out))
