from models.registry import build_model, count_params, with_auxiliary_loss

__all__ = ["build_model", "count_params", "with_auxiliary_loss"]
