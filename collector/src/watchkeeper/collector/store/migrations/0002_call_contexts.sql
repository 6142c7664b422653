-- Retrieved context passages of RAG calls, in retrieval order (faithfulness reads them).
ALTER TABLE {db}.calls ADD COLUMN IF NOT EXISTS Contexts Array(String) CODEC(ZSTD(1)) AFTER OutputMessages;
