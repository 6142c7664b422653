"""Faithfulness (RAG): are answers still grounded in the retrieved contexts?"""
