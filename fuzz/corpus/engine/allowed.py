# keygate:allow-next-line
OPENROUTER_API_KEY=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
x = 1 # keygate:allow DEEPSEEK_API_KEY=sk-cd33c39fe8d7515a18a0974f31a0d4cb
