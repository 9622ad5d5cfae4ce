from models.registry import build_model, count_params

__all__ = ["build_model", "count_params"]
