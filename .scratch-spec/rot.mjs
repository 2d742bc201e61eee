import sharp from 'sharp';
for (const [w,h] of [[300,200],[301,199],[100,100],[37,91]]) for (const a of [1,10,30,45,60,89.5,91,135,200,315,359,-45]) {
  const {info} = await sharp({create:{width:w,height:h,channels:3,background:'red'}}).png().resize(w,h,{fit:'fill'}).rotate(a).raw().toBuffer({resolveWithObject:true});
  const r = a*Math.PI/180, c=Math.abs(Math.cos(r)), s=Math.abs(Math.sin(r));
  const ew = w*c+h*s, eh = w*s+h*c;
  console.log(w,h,a,info.width,info.height, ew.toFixed(3), eh.toFixed(3));
}
const m = await sharp('samples/sunset-12mp.jpg').metadata(); console.log(m.width,m.height,m.orientation, m.format, m.pages, m.hasAlpha);
