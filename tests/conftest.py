import os
import warnings

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ["COLUMNS"] = "220"  # rich tables are not truncated in CLI output checks
warnings.filterwarnings("ignore", message="Constant\\(s\\) may be too high")
