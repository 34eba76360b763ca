"""Semantic search over a corpus embedded at build time: embed the query, score every document
with one `linear` op on the backend (scores = corpus @ query), return the top k."""
import heapq
from array import array

from .runtime import ops
from .runtime.plan import Plan


class QueryError(ValueError):
    """A query the person typing must change; the message says how."""


class SemanticSearch:
    def __init__(self, extractor, docs: list[dict], corpus):
        """docs: [{id, text}] in corpus order; corpus: a Weight [n_docs, C] of L2-normalised embeddings."""
        if corpus.N != len(docs):
            raise ValueError(f"the corpus has {corpus.N} embeddings but {len(docs)} documents")
        self.extractor, self.docs, self.corpus = extractor, docs, corpus
        plan = Plan("search_scores")
        q = plan.input("query", (1, corpus.K))                 # [1, C]
        plan.output("scores", ops.linear(q, corpus))            # [1, n_docs]: cosine, both sides normalised
        self._plan, self._program = plan, None

    def check_query(self, query: str) -> None:
        if not isinstance(query, str) or not query.strip():
            raise QueryError("the query is empty: type a few words to search for")
        n = len(self.extractor.model.tokenizer.encode(query, truncation=False).ids)
        limit = self.extractor.max_length
        if n > limit:
            raise QueryError(f"the query is {n} tokens long and the model reads at most {limit}: shorten it "
                             "(a sentence or two works best)")

    async def search(self, query: str, k: int = 10) -> list[dict]:
        self.check_query(query)
        if not isinstance(k, int) or k < 1:
            raise QueryError(f"k must be a positive whole number, got {k!r}")
        (vector,) = await self.extractor.encode([query])
        if self._program is None:
            self._program = await self.extractor.backend.compile(self._plan)
        scores = array("f")
        scores.frombytes((await self._program.run({"query": array("f", vector)}))["scores"])
        best = heapq.nlargest(min(k, len(scores)), range(len(scores)), key=scores.__getitem__)
        return [{**self.docs[i], "score": round(scores[i], 6)} for i in best]
