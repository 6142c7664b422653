"""Consistency: are equivalent questions still answered the same way?"""
