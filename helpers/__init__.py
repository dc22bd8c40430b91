"""Helper library behind the numbered notebooks: bimodal (image + caption) multi-label classification."""
