"""The image pool of Shrivastava et al.: the discriminator sees a mix of the newest fakes and older ones.

Unlike the reference (global `random`, lost at a restart) it draws from its own seeded generator, and its
images and generator state go into the resume file, so a resumed run makes the same choices.
"""

from __future__ import annotations

import torch


class ImagePool:
    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for image in batch.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator).item() > 0.5:
                k = int(torch.randint(0, self.size, (), generator=self.generator))
                out.append(self.images[k].clone())
                self.images[k] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict:
        stacked = torch.cat(self.images, 0).cpu() if self.images else torch.empty(0)
        return {"images": stacked, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        images = state["images"]
        self.images = [images[i:i + 1].to(device) for i in range(images.shape[0])] if images.numel() else []
        self.generator.set_state(state["generator"])
